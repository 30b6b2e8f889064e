"""Training loops as students write them, for the checks in support/training_checks.py.

CORRECT_* must pass, WRONG_* map an implementation to the ``prop`` its failure must name.
The notebook-style globals ``x, y, xvalid, yvalid`` below exist so that a loop reading
globals instead of its arguments can be written (and must fail).
"""

import numpy as np
import torch
import tqdm
from torch import optim
from tqdm.auto import tqdm as auto_tqdm

torch.manual_seed(0)
x = torch.rand(200, 1) * 10 - 5
y = x ** 2 / 2 + torch.sin(5 * x) - 5
xvalid = torch.rand(200, 1) * 10 - 5
yvalid = xvalid ** 2 / 2 + torch.sin(5 * xvalid + torch.pi) - 5
x3 = torch.rand(200, 3)  # globals with the canonical feature count: no crash, wrong data
y3 = x3.sum(1, keepdim=True)


# ----------------------------------------------------------------------------- correct Q2

def gd_seed_style(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in tqdm.trange(steps):
        output = model(x)
        loss = loss_func(output, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        valid_loss = loss_func(model(xvalid), yvalid)
        losses.append(loss.detach().cpu().numpy())
        valid_losses.append(valid_loss.detach().cpu().numpy())
    return losses, valid_losses


def gd_zero_first_item(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    opt = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for step in auto_tqdm(range(steps)):
        opt.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        opt.step()
        with torch.no_grad():
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
    return losses, valid_losses


def gd_model_zero_grad_arrays(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses = np.zeros(steps)
    valid_losses = np.zeros(steps)
    for i in tqdm.tqdm(range(steps)):
        model.zero_grad()
        prediction = model(x)
        loss = loss_func(prediction, y)
        losses[i] = float(loss)
        loss.backward()
        optimizer.step()
        valid_losses[i] = float(loss_func(model(xvalid), yvalid))
    return losses, valid_losses


def gd_set_to_none_false(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in tqdm.trange(steps, desc="training"):
        optimizer.zero_grad(set_to_none=False)
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        with torch.inference_mode():
            valid_losses.append(loss_func(model(xvalid), yvalid))
    return losses, valid_losses


def gd_stacked_tensors(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        loss = loss_func(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss)  # still attached to the graph
        valid_losses.append(loss_func(model(xvalid), yvalid).detach())
    return torch.stack(losses).detach(), torch.stack(valid_losses)


def gd_while_swapped_args(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(params=model.parameters(), lr=lr)
    losses, valid_losses = [], []
    step = 0
    bar = auto_tqdm(total=steps)
    while step < steps:
        optimizer.zero_grad()
        loss = loss_func(y, model(x))  # MSE is symmetric
        loss.backward()
        optimizer.step()
        losses.append(np.float32(loss.item()))
        valid_losses.append(np.float64(loss_func(yvalid, model(xvalid)).item()))
        bar.update(1)
        step += 1
    bar.close()
    return (losses, valid_losses)


def gd_manual_update(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    """Plain SGD by hand: the same trajectory as optim.SGD."""
    losses, valid_losses = [], []
    for _ in range(steps):
        loss = loss_func(model(x), y)
        grads = torch.autograd.grad(loss, list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= lr * g
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
    return losses, valid_losses


def gd_copies_inputs(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    device = next(model.parameters()).device
    x, y = x.to(device).detach(), y.clone()
    xvalid, yvalid = xvalid.float(), yvalid.to(device)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in tqdm.trange(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            valid = loss_func(model(xvalid), yvalid)
        model.train()
        losses.append(loss.item())
        valid_losses.append(valid.item())
    return losses, valid_losses


def gd_squeezed(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    """Flattens predictions and labels before the loss (and keeps numpy scalars)."""
    optimizer = optim.SGD(model.parameters(), lr)
    losses, valid_losses = [], []
    y_flat, yvalid_flat = y.reshape(-1), yvalid.squeeze(1)
    for _ in tqdm.trange(steps, leave=False):
        optimizer.zero_grad()
        loss = loss_func(model(x).squeeze(1), y_flat)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            valid_loss = loss_func(model(xvalid).reshape(-1), yvalid_flat)
        losses.append(loss.detach().cpu().numpy())
        valid_losses.append(valid_loss.cpu().numpy())
    return losses, valid_losses


CORRECT_GD = [gd_squeezed, gd_seed_style, gd_zero_first_item, gd_model_zero_grad_arrays,
              gd_set_to_none_false, gd_stacked_tensors, gd_while_swapped_args, gd_manual_update,
              gd_copies_inputs]


# ----------------------------------------------------------------------------- wrong Q2

def gd_no_zero_grad(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_step_before_backward(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        loss = loss_func(model(x), y)
        optimizer.step()
        optimizer.zero_grad()
        loss.backward()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_zero_between(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_no_step(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_fixed_lr(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_fixed_steps(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in tqdm.trange(5000):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_adam(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_momentum(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_ascent(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr, maximize=True)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_trains_on_validation(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        valid_loss = loss_func(model(xvalid), yvalid)
        valid_loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_backprops_sum(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        valid_loss = loss_func(model(xvalid), yvalid)
        (loss + valid_loss).backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_backprops_valid_late(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        valid_loss = loss_func(model(xvalid), yvalid)
        valid_loss.backward()  # flows into the next step's gradient
        losses.append(loss.item())
        valid_losses.append(valid_loss.item())
    return losses, valid_losses


def gd_backprops_valid_harmless(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    """The correct path (zero_grad wipes it), but the validation loss is backpropagated."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        valid_loss = loss_func(model(xvalid), yvalid)
        valid_loss.backward()
        losses.append(loss.item())
        valid_losses.append(valid_loss.item())
    return losses, valid_losses


def gd_globals_crash(model, loss_func, x_, y_, xvalid_, yvalid_, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)  # the notebook's globals
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_globals_silent(model, loss_func, x, y, xvalid_, yvalid_, lr=0.1, steps=5000):
    """Validation on globals of a fitting shape (the canonical 3 features): no crash."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(x3), y3).item())
    return losses, valid_losses


def gd_initial_valid(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses = []
    valid_losses = [loss_func(model(xvalid), yvalid).item()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_one_more(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps + 1):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_swapped(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    losses, valid_losses = gd_zero_first_item(model, loss_func, x, y, xvalid, yvalid, lr, steps)
    return valid_losses, losses


def gd_valid_before_step(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        with torch.no_grad():
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, valid_losses


def gd_loss_after_step(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_func(model(x), y).backward()
        optimizer.step()
        with torch.no_grad():
            losses.append(loss_func(model(x), y).item())
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_returns_lists_of_vectors(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(((model(x) - y) ** 2).detach().reshape(-1))  # per-point losses
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def gd_returns_model(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    gd_zero_first_item(model, loss_func, x, y, xvalid, yvalid, lr, steps)
    return model


WRONG_GD = {
    gd_no_zero_grad: "gradients zeroed each iteration",
    gd_step_before_backward: "backward before step",
    gd_zero_between: "parameters updated",
    gd_no_step: "parameters updated",
    gd_fixed_lr: "learning rate used",
    gd_adam: "SGD trajectory",
    gd_momentum: "SGD trajectory",
    gd_ascent: "descends the gradient",
    gd_trains_on_validation: "validation loss not backpropagated",
    gd_backprops_sum: "validation loss not backpropagated",
    gd_backprops_valid_late: "validation loss not backpropagated",
    gd_backprops_valid_harmless: "validation loss not backpropagated",
    gd_globals_crash: "uses its arguments",
    gd_globals_silent: "uses its arguments",  # seed 0 (3 features): no crash, wrong data
    gd_initial_valid: "history length",
    gd_one_more: "history length",
    gd_swapped: "histories not swapped",
    gd_valid_before_step: "validation loss after the step",
    gd_loss_after_step: "training losses",
    gd_returns_lists_of_vectors: "return value",
    gd_returns_model: "return value",
}
SLOW_WRONG_GD = {gd_fixed_steps: "history length"}  # 5000 iterations: run on one seed


# ----------------------------------------------------------------------------- correct Q11

def l1_seed_style(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1., steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in tqdm.trange(steps):
        output = model(x)
        loss = loss_func(output, y)
        losses.append(loss.detach().cpu().numpy())
        l1_loss = 0
        for p in model.parameters():
            l1_loss = l1_loss + torch.mean(torch.abs(p))
        loss = loss + l1_weight * l1_loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        valid_loss = loss_func(model(xvalid), yvalid)
        valid_losses.append(valid_loss.detach().cpu().numpy())
    return losses, valid_losses


def l1_stack(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1., steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in auto_tqdm(range(steps)):
        optimizer.zero_grad()
        data_loss = loss_func(model(x), y)
        penalty = torch.stack([p.abs().mean() for p in model.parameters()]).sum()
        (data_loss + l1_weight * penalty).backward()
        optimizer.step()
        losses.append(data_loss.item())
        with torch.no_grad():
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def l1_weights_only(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1., steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        l1 = sum(p.abs().mean() for p in model.parameters() if p.dim() > 1)
        total = loss + l1_weight * l1
        total.backward()
        optimizer.step()
        losses.append(float(loss))
        valid_losses.append(float(loss_func(model(xvalid), yvalid)))
    return losses, valid_losses


def l1_named_weights(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1., steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        model.zero_grad()
        loss = loss_func(model(x), y)
        reg = 0.
        for name, p in model.named_parameters():
            if "weight" in name:
                reg = reg + p.norm(1) / p.numel()
        (loss + l1_weight * reg).backward()
        optimizer.step()
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


def l1_generator_sum(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1., steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = np.empty(steps), np.empty(steps)
    for t in tqdm.trange(steps):
        loss = loss_func(model(x), y)
        objective = loss + l1_weight * sum(torch.mean(torch.abs(p)) for p in model.parameters())
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        losses[t] = loss.item()
        valid_losses[t] = loss_func(model(xvalid), yvalid).item()
    return losses, valid_losses


CORRECT_L1 = [l1_seed_style, l1_stack, l1_weights_only, l1_named_weights, l1_generator_sum]


# ----------------------------------------------------------------------------- wrong Q11

def _l1_loop(penalty, record_total=False, regularise_valid=False, weight_decay=0.0,
             weight=None):
    def gradient_descent_l1(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1.,
                            steps=5000):
        lam = l1_weight if weight is None else weight
        optimizer = optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay * lam)
        losses, valid_losses = [], []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_func(model(x), y)
            total = loss + lam * penalty(model)
            total.backward()
            optimizer.step()
            losses.append((total if record_total else loss).item())
            valid = loss_func(model(xvalid), yvalid)
            if regularise_valid:
                valid = valid + lam * penalty(model)
            valid_losses.append(valid.item())
        return losses, valid_losses
    return gradient_descent_l1


def _mean_abs(model):
    return sum(p.abs().mean() for p in model.parameters())


l1_sum_not_mean = _l1_loop(lambda m: sum(p.abs().sum() for p in m.parameters()))
l1_squared = _l1_loop(lambda m: sum((p ** 2).mean() for p in m.parameters()))
l1_squared_sum = _l1_loop(lambda m: sum((p ** 2).sum() for p in m.parameters()))
l1_from_data = _l1_loop(lambda m: sum(p.data.abs().mean() for p in m.parameters()))
l1_from_item = _l1_loop(lambda m: sum(p.abs().mean().item() for p in m.parameters()))
l1_weight_decay = _l1_loop(lambda m: 0.0, weight_decay=1.0)
l1_weight_ignored = _l1_loop(_mean_abs, weight=1.0)
l1_valid_regularised = _l1_loop(_mean_abs, regularise_valid=True)
l1_losses_with_penalty = _l1_loop(_mean_abs, record_total=True)
l1_weights_sum = _l1_loop(lambda m: sum(p.abs().sum() for p in m.parameters() if p.dim() > 1))

WRONG_L1 = {
    l1_sum_not_mean: "L1 uses the mean |p|",
    l1_weights_sum: "L1 uses the mean |p|",
    l1_squared: "L1 not L2",
    l1_squared_sum: "L1 not L2",
    l1_from_data: "L1 penalty in the gradient",
    l1_from_item: "L1 penalty in the gradient",
    l1_weight_decay: "L1 not L2",
    l1_weight_ignored: "l1_weight used",
    l1_valid_regularised: "validation loss unregularised",
    l1_losses_with_penalty: "losses exclude the L1 penalty",
    gd_zero_first_item: "your code raised an exception",  # no l1_weight parameter
}


# ----------------------------------------------------------------------------- Q14

def te_seed_style(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in tqdm.trange(steps):
        model.train()
        output = model(x)
        loss = loss_func(output, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        model.eval()
        valid_loss = loss_func(model(xvalid), yvalid)
        losses.append(loss.detach().cpu().numpy())
        valid_losses.append(valid_loss.detach().cpu().numpy())
    return losses, valid_losses


def te_train_at_end(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in auto_tqdm(range(steps)):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
        model.train()
    return losses, valid_losses


def te_train_flag(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        model.train(True)
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        model.train(False)
        valid_losses.append(float(loss_func(model(xvalid), yvalid)))
        losses.append(float(loss))
    return losses, valid_losses


CORRECT_TRAIN_EVAL = [te_seed_style, te_train_at_end, te_train_flag, gd_copies_inputs]


def te_never_train_again(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        model.eval()
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
    return losses, valid_losses


def te_top_flag_only(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        model.training = True
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        model.training = False  # only the top module: its children stay in train mode
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
    return losses, valid_losses


def te_modes_reversed(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        model.eval()
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        model.train()
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
    return losses, valid_losses


WRONG_TRAIN_EVAL = {
    gd_zero_first_item: "validation forward in eval mode",  # the Q2 loop: no mode switching
    te_never_train_again: "training forward in train mode",
    te_top_flag_only: "validation forward in eval mode",
    te_modes_reversed: "training forward in train mode",
}


def te_no_zero_grad(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        model.train()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        model.eval()
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
    return losses, valid_losses


WRONG_TRAIN_EVAL[te_no_zero_grad] = "gradients zeroed each iteration"

# Partial credit (test_gradient_descent declares updates 0.5, recording 0.25, validation
# 0.25): a wrong loop -> (the share of the points it earns, the properties that hold), on
# every seed.
PARTIAL_GD = {
    gd_loss_after_step: (0.75, ("updates", "validation")),
    gd_valid_before_step: (0.75, ("updates", "recording")),
    gd_initial_valid: (0.75, ("updates", "recording")),
    gd_swapped: (0.5, ("updates",)),
    gd_no_zero_grad: (0.0, ()),  # a wrong path: every history follows it
}
