"""hw1 Part 5 as students write it: evaluate, train_epoch, fit and the tuned settings.

The notebook's helpers (enable_gradients, clear_gradients, accuracy) and a correct network
and stable loss are module globals here, as in the notebook, so the implementations can use
them.  Globals named like the notebook's data (split_x, split_y, learning_rate, batch_size)
exist so that code reading globals instead of its arguments can be written.
CORRECT_* must pass; WRONG_* map an implementation to the ``prop`` its failure must name.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from support.hw1_gradient_descent.data import load_binary_digits

split_x, split_y = load_binary_digits()
learning_rate, batch_size = 0.05, 16


# ----------------------------------------------------------------------------- the notebook's helpers

def enable_gradients(params):
    for w, b, h in params:
        w.requires_grad_()
        b.requires_grad_()


def clear_gradients(params):
    for w, b, h in params:
        w.grad = None
        b.grad = None


def accuracy(y, y_hat):
    return ((y_hat > 0.5) == (y > 0.5)).float().mean()


def network(x, params):
    z = x
    for w, b, h in params:
        z = h(z @ w + b)
    return z.squeeze(-1)


def stable_bce_loss(y, y_hat):
    y_hat = torch.clamp(y_hat, 1e-6, 1 - 1e-6)
    return torch.mean(-(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)))


def make_layer(d0, d1, activation):
    return torch.randn(d0, d1) * math.sqrt(2 / d0), torch.zeros(d1), activation


# ----------------------------------------------------------------------------- evaluate

def evaluate_no_grad(params, x, y):
    with torch.no_grad():
        y_hat = network(x, params)
        return stable_bce_loss(y, y_hat).item(), accuracy(y, y_hat).item()


def evaluate_tensors(params, x, y):
    """Returns 0-dim tensors, detached."""
    y_hat = network(x, params)
    return stable_bce_loss(y, y_hat).detach(), accuracy(y, y_hat)


def evaluate_functional_round(params, x, y):
    with torch.no_grad():
        y_hat = network(x, params)
        loss = F.binary_cross_entropy(y_hat, y)
        acc = (torch.round(y_hat) == y).float().mean()
    return float(loss), float(acc)


def evaluate_numpy(params, x, y):
    y_hat = network(x, params).detach().cpu().numpy()
    labels = y.cpu().numpy()
    p = np.clip(y_hat, 1e-7, 1 - 1e-7)
    loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    return loss, np.mean((p > 0.5) == labels)


def evaluate_eps_loss(params, x, y):
    """A stable loss with eps added inside the logs."""
    with torch.no_grad():
        y_hat = network(x, params)
        loss = -(y * torch.log(y_hat + 1e-7) + (1 - y) * torch.log(1 - y_hat + 1e-7)).mean()
        correct = ((y_hat >= 0.5).float() == y).sum().item()
    return loss.item(), correct / len(y)


CORRECT_EVALUATE = [evaluate_no_grad, evaluate_tensors, evaluate_functional_round,
                    evaluate_numpy, evaluate_eps_loss]


def evaluate_count(params, x, y):
    with torch.no_grad():
        y_hat = network(x, params)
        return stable_bce_loss(y, y_hat).item(), ((y_hat > 0.5) == y).sum().item()


def evaluate_threshold_zero(params, x, y):
    with torch.no_grad():
        y_hat = network(x, params)
        return stable_bce_loss(y, y_hat).item(), ((y_hat > 0) == y).float().mean().item()


def evaluate_swapped(params, x, y):
    loss, acc = evaluate_no_grad(params, x, y)
    return acc, loss


def evaluate_sum(params, x, y):
    with torch.no_grad():
        y_hat = network(x, params)
        loss = -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).sum()
        return loss.item(), accuracy(y, y_hat).item()


def evaluate_backward(params, x, y):
    y_hat = network(x, params)
    loss = stable_bce_loss(y, y_hat)
    loss.backward()
    return loss.item(), accuracy(y, y_hat).item()


def evaluate_globals(params, x, y):
    return evaluate_no_grad(params, x[: len(y) // 2], y[: len(y) // 2])


def evaluate_steps(params, x, y):
    """Takes an SGD step while evaluating."""
    y_hat = network(x, params)
    loss = stable_bce_loss(y, y_hat)
    grads = torch.autograd.grad(loss, [t for w, b, h in params for t in (w, b)])
    with torch.no_grad():
        for t, g in zip([t for w, b, h in params for t in (w, b)], grads):
            t -= 0.1 * g
    return loss.item(), accuracy(y, y_hat).item()


WRONG_EVALUATE = {
    evaluate_count: "accuracy value",
    evaluate_threshold_zero: "accuracy value",
    evaluate_swapped: "order (loss, accuracy)",
    evaluate_sum: "loss value",
    evaluate_backward: "no gradients computed",
    evaluate_globals: "loss value",
    evaluate_steps: "parameters unchanged",
}


# ----------------------------------------------------------------------------- train_epoch

def train_epoch_skeleton(params, x_train, y_train, learning_rate, batch_size):
    """The notebook's skeleton, filled in."""
    n = len(x_train)
    if batch_size is None or batch_size > n:
        batch_size = n
    num_batches = n // batch_size
    random_order = torch.randperm(n)
    loss_total, accuracy_total = 0, 0
    for step in range(num_batches):
        idx = random_order[step * batch_size:(step + 1) * batch_size]
        x_batch, y_batch = x_train[idx], y_train[idx]
        clear_gradients(params)
        y_hat = network(x_batch, params)
        loss = stable_bce_loss(y_batch, y_hat)
        acc = accuracy(y_batch, y_hat)
        loss.backward()
        with torch.no_grad():
            for w, b, h in params:
                w -= learning_rate * w.grad
                b -= learning_rate * b.grad
        loss_total += loss.item()
        accuracy_total += acc.item()
    return loss_total / num_batches, accuracy_total / num_batches


def train_epoch_data_zero(params, x_train, y_train, learning_rate, batch_size):
    """.data updates, grads zeroed after the step, numpy permutation, lists of results."""
    n = len(x_train)
    order = np.random.permutation(n)
    losses, accs = [], []
    for start in range(0, n - batch_size + 1, batch_size):
        idx = torch.as_tensor(order[start:start + batch_size], device=x_train.device)
        y_hat = network(x_train[idx], params)
        loss = stable_bce_loss(y_train[idx], y_hat)
        loss.backward()
        for w, b, h in params:
            w.data -= learning_rate * w.grad.data
            b.data -= learning_rate * b.grad.data
            w.grad.zero_()
            b.grad.zero_()
        losses.append(loss.item())
        accs.append(accuracy(y_train[idx], y_hat.detach()).item())
    return sum(losses) / len(losses), sum(accs) / len(accs)


def train_epoch_optimizer(params, x_train, y_train, learning_rate, batch_size):
    """torch.optim.SGD over the tensors, torch.split of a permutation."""
    optimizer = torch.optim.SGD([t for w, b, h in params for t in (w, b)], lr=learning_rate)
    n = len(x_train)
    batches = [i for i in torch.randperm(n).split(batch_size) if len(i) == batch_size]
    total_loss = total_acc = 0.0
    for idx in batches:
        optimizer.zero_grad()
        y_hat = network(x_train[idx], params)
        loss = F.binary_cross_entropy(y_hat, y_train[idx])
        loss.backward()
        optimizer.step()
        total_loss += float(loss)
        total_acc += float(((y_hat > 0.5).float() == y_train[idx]).float().mean())
    return total_loss / len(batches), total_acc / len(batches)


def train_epoch_dataloader(params, x_train, y_train, learning_rate, batch_size):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train),
                                         batch_size=batch_size, shuffle=True, drop_last=True)
    losses, accs = [], []
    for x_batch, y_batch in loader:
        clear_gradients(params)
        y_hat = network(x_batch, params)
        loss = stable_bce_loss(y_batch, y_hat)
        loss.backward()
        with torch.no_grad():
            for w, b, _ in params:
                w.sub_(learning_rate * w.grad)
                b.sub_(learning_rate * b.grad)
        losses.append(loss.item())
        accs.append(accuracy(y_batch, y_hat).item())
    return float(np.mean(losses)), float(np.mean(accs))


def train_epoch_autograd_grad(params, x_train, y_train, learning_rate, batch_size):
    """torch.autograd.grad (no .grad at all), random.shuffle of a list of indices, an eps loss."""
    import random

    order = list(range(len(x_train)))
    random.shuffle(order)
    nb = len(order) // batch_size
    loss_sum = acc_sum = 0.0
    for k in range(nb):
        idx = torch.tensor(order[k * batch_size:(k + 1) * batch_size])
        y_hat = network(x_train[idx], params)
        y_b = y_train[idx]
        loss = -(y_b * torch.log(y_hat + 1e-7) + (1 - y_b) * torch.log(1 - y_hat + 1e-7)).mean()
        tensors = [t for layer in params for t in layer[:2]]
        grads = torch.autograd.grad(loss, tensors)
        with torch.no_grad():
            for t, g in zip(tensors, grads):
                t.add_(g, alpha=-learning_rate)
        loss_sum += loss.item()
        acc_sum += accuracy(y_b, y_hat).item()
    return loss_sum / nb, acc_sum / nb


CORRECT_TRAIN_EPOCH = [train_epoch_skeleton, train_epoch_data_zero, train_epoch_optimizer,
                       train_epoch_dataloader, train_epoch_autograd_grad]


def _epoch(params, x_train, y_train, learning_rate, batch_size, order=None, sign=-1.0,
           clear=True, whole=False, report="mean"):
    """A configurable wrong epoch (each wrong variant below changes one thing)."""
    n = len(x_train)
    order = torch.randperm(n) if order is None else order
    nb = n // batch_size
    losses, accs = [], []
    for k in range(nb):
        idx = order[k * batch_size:(k + 1) * batch_size]
        xb, yb = (x_train, y_train) if whole else (x_train[idx], y_train[idx])
        if clear:
            clear_gradients(params)
        y_hat = network(xb, params)
        loss = stable_bce_loss(yb, y_hat)
        loss.backward()
        with torch.no_grad():
            for w, b, h in params:
                w += sign * learning_rate * w.grad
                b += sign * learning_rate * b.grad
        losses.append(loss.item())
        accs.append(accuracy(yb, y_hat).item())
    if report == "last":
        return losses[-1], accs[-1]
    if report == "sum":
        return sum(losses), sum(accs) / nb
    return sum(losses) / nb, sum(accs) / nb


def train_epoch_ascent(params, x_train, y_train, learning_rate, batch_size):
    """The seed's helpers: add step * grad, called with a positive rate."""
    return _epoch(params, x_train, y_train, learning_rate, batch_size, sign=1.0)


def train_epoch_no_clear(params, x_train, y_train, learning_rate, batch_size):
    return _epoch(params, x_train, y_train, learning_rate, batch_size, clear=False)


def train_epoch_no_shuffle(params, x_train, y_train, learning_rate, batch_size):
    return _epoch(params, x_train, y_train, learning_rate, batch_size,
                  order=torch.arange(len(x_train)))


def train_epoch_seeded(params, x_train, y_train, learning_rate, batch_size):
    torch.manual_seed(0)
    return _epoch(params, x_train, y_train, learning_rate, batch_size)


def train_epoch_whole_set(params, x_train, y_train, learning_rate, batch_size):
    return _epoch(params, x_train, y_train, learning_rate, batch_size, whole=True)


def train_epoch_last_loss(params, x_train, y_train, learning_rate, batch_size):
    return _epoch(params, x_train, y_train, learning_rate, batch_size, report="last")


def train_epoch_sum_loss(params, x_train, y_train, learning_rate, batch_size):
    return _epoch(params, x_train, y_train, learning_rate, batch_size, report="sum")


def train_epoch_rebind(params, x_train, y_train, learning_rate, batch_size):
    """w = w - lr * grad only rebinds a local name."""
    n = len(x_train)
    order = torch.randperm(n)
    total = acc = 0.0
    for k in range(n // batch_size):
        idx = order[k * batch_size:(k + 1) * batch_size]
        clear_gradients(params)
        y_hat = network(x_train[idx], params)
        loss = stable_bce_loss(y_train[idx], y_hat)
        loss.backward()
        for w, b, h in params:
            w = w - learning_rate * w.grad
            b = b - learning_rate * b.grad
        total += loss.item()
        acc += accuracy(y_train[idx], y_hat).item()
    return total / (n // batch_size), acc / (n // batch_size)


def train_epoch_with_replacement(params, x_train, y_train, learning_rate, batch_size):
    n = len(x_train)
    nb = n // batch_size
    total = acc = 0.0
    for _ in range(nb):
        idx = torch.randint(n, (batch_size,))
        clear_gradients(params)
        y_hat = network(x_train[idx], params)
        loss = stable_bce_loss(y_train[idx], y_hat)
        loss.backward()
        with torch.no_grad():
            for w, b, h in params:
                w -= learning_rate * w.grad
                b -= learning_rate * b.grad
        total += loss.item()
        acc += accuracy(y_train[idx], y_hat).item()
    return total / nb, acc / nb


def train_epoch_global_lr(params, x_train, y_train, learning_rate_, batch_size):
    return _epoch(params, x_train, y_train, learning_rate, batch_size)


WRONG_TRAIN_EPOCH = {
    train_epoch_ascent: "update direction",
    train_epoch_no_clear: "parameters after one epoch",
    train_epoch_no_shuffle: "minibatches are shuffled",
    train_epoch_seeded: "minibatches are shuffled",
    train_epoch_whole_set: "parameters after one epoch",
    train_epoch_last_loss: "returned loss",
    train_epoch_sum_loss: "returned loss",
    train_epoch_rebind: "parameters updated",
    train_epoch_with_replacement: "parameters after one epoch",
    train_epoch_global_lr: "parameters after one epoch",
}


# ----------------------------------------------------------------------------- fit

train_epoch = train_epoch_skeleton
evaluate = evaluate_no_grad


def fit_stub(params, x, y, learning_rate, batch_size, epochs=25):
    """The notebook's stub, filled in."""
    loss_hist = {"train": [], "val": []}
    accuracy_hist = {"train": [], "val": []}
    enable_gradients(params)
    for epoch in tqdm(range(epochs), desc="epochs", leave=False):
        train_loss, train_acc = train_epoch(params, x["train"], y["train"], learning_rate,
                                            batch_size)
        loss_hist["train"].append(train_loss)
        accuracy_hist["train"].append(train_acc)
        val_loss, val_acc = evaluate(params, x["val"], y["val"])
        loss_hist["val"].append(val_loss)
        accuracy_hist["val"].append(val_acc)
    return loss_hist, accuracy_hist


def fit_printing(params, x, y, learning_rate, batch_size, epochs=25):
    """Prints every epoch; phases in a loop."""
    loss_hist = {"train": [], "val": []}
    accuracy_hist = {"train": [], "val": []}
    enable_gradients(params)
    for epoch in range(epochs):
        for phase in ("train", "val"):
            if phase == "train":
                loss, acc = train_epoch(params, x[phase], y[phase], learning_rate, batch_size)
            else:
                loss, acc = evaluate(params, x[phase], y[phase])
            loss_hist[phase].append(loss)
            accuracy_hist[phase].append(acc)
        print(f"epoch {epoch}: {loss_hist['train'][-1]:.3f} {loss_hist['val'][-1]:.3f}")
    return loss_hist, accuracy_hist


def fit_collect(params, x, y, learning_rate, batch_size, epochs=25):
    """Collects rows and builds the dicts at the end; other train_epoch and evaluate."""
    for w, b, h in params:
        w.requires_grad = True
        b.requires_grad = True
    rows = []
    for _ in range(epochs):
        tr = train_epoch_autograd_grad(params, x["train"], y["train"], learning_rate, batch_size)
        va = evaluate_functional_round(params, x["val"], y["val"])
        rows.append(tr + va)
    rows = np.array(rows)
    return ({"train": list(rows[:, 0]), "val": list(rows[:, 2])},
            {"train": list(rows[:, 1]), "val": list(rows[:, 3])})


def fit_tensors(params, x, y, learning_rate, batch_size, epochs=25):
    """Histories as tensors of numbers; a while loop."""
    enable_gradients(params)
    hist = {k: torch.zeros(epochs) for k in ("lt", "at", "lv", "av")}
    epoch = 0
    while epoch < epochs:
        hist["lt"][epoch], hist["at"][epoch] = train_epoch_data_zero(
            params, x["train"], y["train"], learning_rate, batch_size)
        hist["lv"][epoch], hist["av"][epoch] = evaluate_tensors(params, x["val"], y["val"])
        epoch += 1
    return {"train": hist["lt"], "val": hist["lv"]}, {"train": hist["at"], "val": hist["av"]}


CORRECT_FIT = [fit_stub, fit_printing, fit_collect, fit_tensors]


def fit_val_first(params, x, y, learning_rate, batch_size, epochs=25):
    loss_hist = {"train": [], "val": []}
    accuracy_hist = {"train": [], "val": []}
    enable_gradients(params)
    for _ in range(epochs):
        val_loss, val_acc = evaluate(params, x["val"], y["val"])
        train_loss, train_acc = train_epoch(params, x["train"], y["train"], learning_rate,
                                            batch_size)
        loss_hist["train"].append(train_loss)
        accuracy_hist["train"].append(train_acc)
        loss_hist["val"].append(val_loss)
        accuracy_hist["val"].append(val_acc)
    return loss_hist, accuracy_hist


def fit_val_on_train(params, x, y, learning_rate, batch_size, epochs=25):
    loss_hist = {"train": [], "val": []}
    accuracy_hist = {"train": [], "val": []}
    enable_gradients(params)
    for _ in range(epochs):
        train_loss, train_acc = train_epoch(params, x["train"], y["train"], learning_rate,
                                            batch_size)
        val_loss, val_acc = evaluate(params, x["train"], y["train"])
        loss_hist["train"].append(train_loss)
        accuracy_hist["train"].append(train_acc)
        loss_hist["val"].append(val_loss)
        accuracy_hist["val"].append(val_acc)
    return loss_hist, accuracy_hist


def fit_swapped(params, x, y, learning_rate, batch_size, epochs=25):
    loss_hist, accuracy_hist = fit_stub(params, x, y, learning_rate, batch_size, epochs)
    return accuracy_hist, loss_hist


def fit_extra_epoch(params, x, y, learning_rate, batch_size, epochs=25):
    return fit_stub(params, x, y, learning_rate, batch_size, epochs + 1)


def fit_global_lr(params, x, y, learning_rate_, batch_size, epochs=25):
    return fit_stub(params, x, y, learning_rate, batch_size, epochs)


def fit_no_enable(params, x, y, learning_rate, batch_size, epochs=25):
    loss_hist = {"train": [], "val": []}
    accuracy_hist = {"train": [], "val": []}
    for _ in range(epochs):
        loss, acc = train_epoch(params, x["train"], y["train"], learning_rate, batch_size)
        loss_hist["train"].append(loss)
        accuracy_hist["train"].append(acc)
        loss, acc = evaluate(params, x["val"], y["val"])
        loss_hist["val"].append(loss)
        accuracy_hist["val"].append(acc)
    return loss_hist, accuracy_hist


def fit_only_losses(params, x, y, learning_rate, batch_size, epochs=25):
    return fit_stub(params, x, y, learning_rate, batch_size, epochs)[0]


WRONG_FIT = {
    fit_val_first: "validation history",
    fit_val_on_train: "validation history",
    fit_swapped: "training history",
    fit_extra_epoch: "history length",
    fit_global_lr: "training history",
    fit_no_enable: "your code raised an exception",
    fit_only_losses: "returns (loss_hist, accuracy_hist)",
}


# ----------------------------------------------------------------------------- settings

SOLUTION_SETTINGS = ([64], 0.5, 64, 20)
CORRECT_SETTINGS = [SOLUTION_SETTINGS]
WRONG_SETTINGS = [  # (settings, prop)
    (([32], 0.01, 64, 2), "validation accuracy"),
    (([32], 0.1, 1, 10), "training budget"),
    (([32], "0.1", 32, 10), "settings"),
    ((32, 0.1, 32, 10), "settings"),
    (([32], 0.1, 32, 0), "settings"),
    (([1024], 0.1, 32, 10), "settings"),
]

# Partial credit (test_evaluate declares loss 0.5, accuracy 0.3, nothing changed 0.2): a
# wrong evaluate -> (the share of the points it earns, the properties that hold), on every
# seed.
PARTIAL_EVALUATE = {
    evaluate_backward: (0.8, ("loss", "accuracy")),
    evaluate_count: (0.7, ("loss", "nothing changed")),
    evaluate_sum: (0.5, ("accuracy", "nothing changed")),
    evaluate_swapped: (0.2, ("nothing changed",)),
}
