"""train_by_gradient_descent, loss_and_accuracy, train and hyper-parameter choices as students
write them: correct variants and usual mistakes.  WRONG entries: (implementation, prop).
"""

import copy

import torch
import torch.nn.functional as F

from .corpus_hw2_models import mlp_loop as make_mlp_for_hp  # noqa: F401 - used by the tests


# =============================================================== train_by_gradient_descent: correct

def gd_manual(model, loss, features, labels, lr=0.1, max_iterations=1000):
    """zero_grad, backward, p -= lr * grad, history of .item() values."""
    current = loss(model(features), labels)
    history = [current.item()]
    for _ in range(max_iterations):
        model.zero_grad()
        current.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        current = loss(model(features), labels)
        history.append(current.item())
        if history[-1] > history[-2]:
            lr /= 2
        if history[-1] == 0 or abs(history[-1] - history[-2]) / abs(history[-2]) < 0.01:
            break
    return history


def gd_optimizer(model, loss, features, labels, lr=0.1, max_iterations=1000):
    """torch.optim.SGD, the rate halved through param_groups, losses kept as tensors."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    previous = loss(model(features), labels)
    history = [previous.detach()]
    for _ in range(max_iterations):
        optimizer.zero_grad()
        previous.backward()
        optimizer.step()
        current = loss(model(features), labels)
        history.append(current.detach())
        if current > previous:
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] * 0.5
        if current == 0 or ((current - previous).abs() / previous.abs()).item() < 0.01:
            break
        previous = current
    return history


def gd_autograd_grad(model, loss, features, labels, lr=0.1, max_iterations=1000):
    """torch.autograd.grad (no .grad at all), a while loop, a step counter."""
    params = list(model.parameters())
    losses = [float(loss(model(features), labels).detach())]
    step, done = 0, False
    while step < max_iterations and not done:
        value = loss(model(features), labels)
        grads = torch.autograd.grad(value, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
        step += 1
        new = float(loss(model(features), labels).detach())
        old = losses[-1]
        losses.append(new)
        if new > old:
            lr = lr / 2
        done = new == 0.0 or abs(new - old) / abs(old) < 0.01
    return losses


def gd_grad_none(model, loss, features, labels, lr=0.1, max_iterations=1000):
    """Gradients reset by assigning None, the data updated through .data, a tuple returned
    as a list at the end."""
    history = []
    for t in range(max_iterations + 1):
        value = loss(model(features), labels)
        history.append(value.item())
        if t > 0:
            change = abs(history[t] - history[t - 1])
            if history[t] > history[t - 1]:
                lr = lr * 0.5
            if history[t] == 0 or change < 0.01 * abs(history[t - 1]):
                break
        if t == max_iterations:
            break
        for p in model.parameters():
            p.grad = None
        value.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
    return list(history)


GD_CORRECT = [gd_manual, gd_optimizer, gd_autograd_grad, gd_grad_none]


# ================================================================= train_by_gradient_descent: wrong

def _gd(model, loss, features, labels, lr, max_iterations, *, halve=True, undo=False,
        zero=True, absolute=False, zero_rule=True, steps_offset=0, initial=True, sign=-1.0):
    current = loss(model(features), labels)
    history = [current.item()] if initial else []
    previous_value = current.item()
    for _ in range(max_iterations + steps_offset):
        if zero:
            model.zero_grad()
        current.backward()
        saved = [p.detach().clone() for p in model.parameters()]
        with torch.no_grad():
            for p in model.parameters():
                p += sign * lr * p.grad
        current = loss(model(features), labels)
        value = current.item()
        if undo and value > previous_value:
            with torch.no_grad():
                for p, s in zip(model.parameters(), saved):
                    p.copy_(s)
            lr /= 2
            current = loss(model(features), labels)
            continue
        history.append(value)
        if halve and value > previous_value:
            lr /= 2
        if absolute:
            rel = abs(value - previous_value)
        else:
            rel = torch.tensor(abs(value - previous_value)) / torch.tensor(abs(previous_value))
        if (zero_rule and value == 0) or rel < 0.01:
            break
        previous_value = value
    return history


def gd_no_halving(model, loss, features, labels, lr=0.1, max_iterations=1000):
    return _gd(model, loss, features, labels, lr, max_iterations, halve=False)


def gd_undo(model, loss, features, labels, lr=0.1, max_iterations=1000):
    return _gd(model, loss, features, labels, lr, max_iterations, undo=True)


def gd_no_zero_grad(model, loss, features, labels, lr=0.1, max_iterations=1000):
    return _gd(model, loss, features, labels, lr, max_iterations, zero=False)


def gd_absolute(model, loss, features, labels, lr=0.1, max_iterations=1000):
    return _gd(model, loss, features, labels, lr, max_iterations, absolute=True)


def gd_no_zero_rule(model, loss, features, labels, lr=0.1, max_iterations=1000):
    """Tensor division: 0 / 0 is nan, nan < 0.01 is False, so it runs on."""
    return _gd(model, loss, features, labels, lr, max_iterations, zero_rule=False)


def gd_guard_off_by_one(model, loss, features, labels, lr=0.1, max_iterations=1000):
    return _gd(model, loss, features, labels, lr, max_iterations, steps_offset=-1)


def gd_no_initial(model, loss, features, labels, lr=0.1, max_iterations=1000):
    return _gd(model, loss, features, labels, lr, max_iterations, initial=False)


def gd_ascent(model, loss, features, labels, lr=0.1, max_iterations=1000):
    return _gd(model, loss, features, labels, lr, max_iterations, sign=+1.0)


def gd_copy(model, loss, features, labels, lr=0.1, max_iterations=1000):
    """Trains a deep copy: the caller's model never changes."""
    return gd_manual(copy.deepcopy(model), loss, features, labels, lr, max_iterations)


def gd_returns_model(model, loss, features, labels, lr=0.1, max_iterations=1000):
    gd_manual(model, loss, features, labels, lr, max_iterations)
    return model


def gd_halve_by_ten(model, loss, features, labels, lr=0.1, max_iterations=1000):
    current = loss(model(features), labels)
    history = [current.item()]
    for _ in range(max_iterations):
        model.zero_grad()
        current.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        current = loss(model(features), labels)
        history.append(current.item())
        if history[-1] > history[-2]:
            lr /= 10
        if history[-1] == 0 or abs(history[-1] - history[-2]) / abs(history[-2]) < 0.01:
            break
    return history


GD_WRONG = [
    (gd_no_halving, "learning-rate halving"),
    (gd_halve_by_ten, "learning-rate halving"),
    (gd_undo, "increased step is kept"),
    (gd_no_zero_grad, "gradients zeroed each step"),
    (gd_absolute, "relative change formula"),
    (gd_no_zero_rule, "stops when the loss is zero"),
    (gd_guard_off_by_one, "max_iterations guard"),
    (gd_no_initial, "initial loss recorded"),
    (gd_ascent, "gradient step"),
    (gd_copy, "model trained in place"),
    (gd_returns_model, "returns the loss history"),
]


# ======================================================================= loss_and_accuracy: correct

def la_weighted(model, loss, dataloader, device):
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in dataloader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            total += loss(out, y).item() * len(y)
            correct += (out.argmax(dim=1) == y).sum().item()
            n += len(y)
    return total / n, correct / n


def la_concatenate(model, loss, dataloader, device):
    """All scores and labels concatenated, the loss called once on everything."""
    model.eval()
    scores, targets = [], []
    with torch.no_grad():
        for x, y in dataloader:
            scores.append(model(x.to(device)))
            targets.append(y.to(device))
        scores, targets = torch.cat(scores), torch.cat(targets)
        mean_loss = loss(scores, targets)
        accuracy = (scores.argmax(-1) == targets).float().mean()
    return mean_loss.item(), accuracy.item()


def la_inference_mode(model, loss, dataloader, device):
    """torch.inference_mode, len(dataloader.dataset), tensors returned (float() works)."""
    model.eval()
    size = len(dataloader.dataset)
    total = torch.zeros((), device=device)
    hits = torch.zeros((), device=device)
    with torch.inference_mode():
        for inputs, labels in dataloader:
            inputs, labels = inputs.to(device), labels.to(device)
            predictions = model(inputs)
            total += loss(predictions, labels) * inputs.shape[0]
            hits += (predictions.max(dim=1).indices == labels).sum()
    return total / size, hits / size


LA_CORRECT = [la_weighted, la_concatenate, la_inference_mode]


# ========================================================================= loss_and_accuracy: wrong

def la_batch_mean(model, loss, dataloader, device):
    """The reference homework's version: the mean of the batch means."""
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for x, y in dataloader:
            x, y = x.to(device), y.to(device)
            pred = model(x)
            total += loss(pred, y).item()
            correct += (pred.argmax(dim=-1) == y).float().sum().item()
    return total / len(dataloader), correct / len(dataloader.dataset)


def la_no_eval(model, loss, dataloader, device):
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in dataloader:
            out = model(x.to(device))
            total += loss(out, y.to(device)).item() * len(y)
            correct += (out.argmax(1) == y.to(device)).sum().item()
            n += len(y)
    return total / n, correct / n


def la_with_grad(model, loss, dataloader, device):
    model.eval()
    total, correct, n = 0.0, 0, 0
    for x, y in dataloader:
        out = model(x.to(device))
        total += loss(out, y.to(device)).item() * len(y)
        correct += (out.argmax(1) == y.to(device)).sum().item()
        n += len(y)
    return total / n, correct / n


def la_count(model, loss, dataloader, device):
    loss_value, accuracy = la_weighted(model, loss, dataloader, device)
    return loss_value, accuracy * len(dataloader.dataset)


def la_own_loss(model, loss, dataloader, device):
    return la_weighted(model, F.cross_entropy, dataloader, device)


def la_swapped(model, loss, dataloader, device):
    loss_value, accuracy = la_weighted(model, loss, dataloader, device)
    return accuracy, loss_value


def la_dict(model, loss, dataloader, device):
    loss_value, accuracy = la_weighted(model, loss, dataloader, device)
    return {"loss": loss_value, "accuracy": accuracy}


LA_WRONG = [
    (la_batch_mean, "mean over examples"),
    (la_no_eval, "eval mode"),
    (la_with_grad, "no gradient tracking"),
    (la_count, "accuracy is a fraction"),
    (la_own_loss, "uses the given loss"),
    (la_swapped, "returns (loss, accuracy)"),
    (la_dict, "returns (loss, accuracy)"),
]

# Partial credit (test_loss_and_accuracy declares evaluation mode 0.2, accuracy 0.3, loss
# 0.5): a wrong loss_and_accuracy -> (the share of the points it earns, the properties that
# hold), on every seed.
LA_PARTIAL = {
    la_no_eval: (0.8, ("accuracy", "loss")),
    la_count: (0.7, ("evaluation mode", "loss")),
    la_batch_mean: (0.5, ("evaluation mode", "accuracy")),
    la_swapped: (0.2, ("evaluation mode",)),
}


# ============================================================================= train: correct

KEYS = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy")


def train_canonical(model, loss, optimizer, train_dataloader, validation_dataloader, epochs,
                    device):
    history = {key: [] for key in KEYS}
    for _ in range(epochs):
        model.train()
        for x, y in train_dataloader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss(model(x), y).backward()
            optimizer.step()
        for split, loader in (("train", train_dataloader), ("validation", validation_dataloader)):
            value, accuracy = la_weighted(model, loss, loader, device)
            history[f"{split}_loss"].append(value)
            history[f"{split}_accuracy"].append(accuracy)
    return history


def train_zero_after_step(model, loss, optimizer, train_dataloader, validation_dataloader,
                          epochs, device):
    """Gradients cleared after the step (and once before the loop); validation first."""
    model.to(device)
    optimizer.zero_grad(set_to_none=True)
    records = []
    for epoch in range(epochs):
        model.train()
        for batch, (inputs, labels) in enumerate(train_dataloader):
            output = model(inputs.to(device))
            batch_loss = loss(output, labels.to(device))
            batch_loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        valid = la_concatenate(model, loss, validation_dataloader, device)
        trained = la_concatenate(model, loss, train_dataloader, device)
        records.append((*trained, *valid))
    columns = list(zip(*records))
    return {key: list(column) for key, column in zip(KEYS, columns)}


def train_model_zero_grad(model, loss, optimizer, train_dataloader, validation_dataloader,
                          epochs, device):
    """model.zero_grad(), tensors kept in the history."""
    history = {"train_loss": [], "train_accuracy": [], "validation_loss": [],
               "validation_accuracy": []}
    for _ in range(epochs):
        model.train()
        for x, y in train_dataloader:
            model.zero_grad()
            l = loss(model(x.to(device)), y.to(device))
            l.backward()
            optimizer.step()
        tl, ta = la_inference_mode(model, loss, train_dataloader, device)
        vl, va = la_inference_mode(model, loss, validation_dataloader, device)
        history["train_loss"].append(tl)
        history["train_accuracy"].append(ta)
        history["validation_loss"].append(vl)
        history["validation_accuracy"].append(va)
    return history


TRAIN_CORRECT = [train_canonical, train_zero_after_step, train_model_zero_grad]


# ============================================================================= train: wrong

def _train(model, loss, optimizer, train_dataloader, validation_dataloader, epochs, device, *,
           zero=True, set_train=True, running=False, swap=False, step=True, as_tuple=False):
    history = {key: [] for key in KEYS}
    for _ in range(epochs):
        if set_train:
            model.train()
        seen, total, hits = 0, 0.0, 0
        for x, y in train_dataloader:
            x, y = x.to(device), y.to(device)
            if zero:
                optimizer.zero_grad()
            out = model(x)
            value = loss(out, y)
            value.backward()
            if step:
                optimizer.step()
            seen += len(y)
            total += value.item() * len(y)
            hits += (out.argmax(1) == y).sum().item()
        train_pair = (total / seen, hits / seen) if running else \
            la_weighted(model, loss, train_dataloader, device)
        valid_pair = la_weighted(model, loss, validation_dataloader, device)
        if swap:
            train_pair, valid_pair = valid_pair, train_pair
        history["train_loss"].append(train_pair[0])
        history["train_accuracy"].append(train_pair[1])
        history["validation_loss"].append(valid_pair[0])
        history["validation_accuracy"].append(valid_pair[1])
    if as_tuple:
        return tuple(history[key] for key in KEYS)
    return history


def train_no_zero_grad(*args):
    return _train(*args, zero=False)


def train_no_train_mode(*args):
    return _train(*args, set_train=False)


def train_running_average(*args):
    return _train(*args, running=True)


def train_swapped(*args):
    return _train(*args, swap=True)


def train_no_step(*args):
    return _train(*args, step=False)


def train_tuple(*args):
    return _train(*args, as_tuple=True)


def train_own_loss(model, loss, *args):
    return _train(model, F.cross_entropy, *args)


def train_extra_epoch(model, loss, optimizer, train_dataloader, validation_dataloader, epochs,
                      device):
    return _train(model, loss, optimizer, train_dataloader, validation_dataloader, epochs + 1,
                  device)


TRAIN_WRONG = [
    (train_no_zero_grad, "gradients zeroed every batch"),
    (train_no_train_mode, "train mode while training"),
    (train_running_average, "train loss after the epoch"),
    (train_swapped, "which history is which"),
    (train_no_step, "parameters updated"),
    (train_tuple, "returns the history dict"),
    (train_own_loss, "final parameters"),
    (train_extra_epoch, "returns the history dict"),
]


# ============================================================================= hyper-parameters

HP_CORRECT = [
    {"hidden_sizes": [64], "learning_rate": 0.05, "momentum": 0.9, "batch_size": 32,
     "epochs": 25},                                                     # the notebook's
    {"hidden_sizes": [64], "learning_rate": 3e-3, "batch_size": 64, "epochs": 15,
     "optimizer": "adam"},
    {"hidden_sizes": [128], "learning_rate": 0.1, "momentum": 0.9, "nesterov": True,
     "batch_size": 64, "epochs": 20},
]

HP_WRONG = [
    ({"hidden_sizes": [16], "learning_rate": 0.01, "momentum": 0.0, "batch_size": 64,
      "epochs": 3}, "test accuracy"),                                  # the notebook's stub
    ({"hidden_sizes": [64], "learning_rate": 0.05, "momentum": 0.9, "batch_size": 4,
      "epochs": 20}, "training budget"),
    ({"hidden_sizes": [64], "lr": 0.05, "batch_size": 32, "epochs": 20}, "hyperparameters dict"),
    ({"hidden_sizes": 64, "learning_rate": 0.05, "batch_size": 32, "epochs": 20},
     "hyperparameters dict"),
    ({"hidden_sizes": [64], "learning_rate": 50.0, "momentum": 0.9, "batch_size": 64,
      "epochs": 2}, "test accuracy"),                                  # a rate far too large
]

# a cheap setting (one short epoch) that trains but misses the target: for transport tests
HP_FAST_FAILING = {"hidden_sizes": [8], "learning_rate": 0.01, "batch_size": 256, "epochs": 1}
