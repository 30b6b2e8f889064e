"""Early-stopping loops (Q8 simple, Q10 patient) as students write them.

CORRECT_* must pass; WRONG_* map an implementation to the ``prop`` its failure must name.
"""

import numpy as np
import torch
import tqdm
from torch import optim
from tqdm.auto import tqdm as auto_tqdm


# ----------------------------------------------------------------------------- simple, correct

def es_seed_style(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
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
        if len(valid_losses) > 1 and valid_losses[-2] < valid_losses[-1]:
            break
    return losses, valid_losses


def es_item_enumerate(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for t in auto_tqdm(range(steps)):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            valid = loss_func(model(xvalid), yvalid).item()
        losses.append(loss.item())
        valid_losses.append(valid)
        if t >= 1 and valid > valid_losses[t - 1]:
            break
    return losses, valid_losses


def es_previous_variable(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    previous = None
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        current = float(loss_func(model(xvalid), yvalid))
        losses.append(float(loss))
        valid_losses.append(current)
        if previous is not None and current > previous:
            break
        previous = current
    return np.array(losses), np.array(valid_losses)


def es_best_so_far(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    """Compares with the best value so far: the same decision as the previous value here."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    best = float("inf")
    for _ in tqdm.tqdm(range(steps)):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        valid = loss_func(model(xvalid), yvalid).detach()
        losses.append(loss.detach())
        valid_losses.append(valid)
        if valid > best:
            break
        best = min(best, valid.item())
    return losses, valid_losses


CORRECT_SIMPLE = [es_seed_style, es_item_enumerate, es_previous_variable, es_best_so_far]


# ----------------------------------------------------------------------------- simple, wrong

def _simple_loop(stop, record_first=True, watch_training=False):
    def gradient_descent_early_stopping(model, loss_func, x, y, xvalid, yvalid, lr=0.1,
                                        steps=5000):
        optimizer = optim.SGD(model.parameters(), lr=lr)
        losses, valid_losses = [], []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_func(model(x), y)
            loss.backward()
            optimizer.step()
            valid = loss_func(model(xvalid), yvalid).item()
            watched = losses + [loss.item()] if watch_training else valid_losses + [valid]
            if not record_first and stop(watched):
                break
            losses.append(loss.item())
            valid_losses.append(valid)
            if record_first and stop(watched):
                break
        return losses, valid_losses
    return gradient_descent_early_stopping


es_ties_stop = _simple_loop(lambda v: len(v) > 1 and v[-1] >= v[-2])
es_never_stops = _simple_loop(lambda v: False)
es_stops_on_decrease = _simple_loop(lambda v: len(v) > 1 and v[-1] < v[-2])
es_watches_training = _simple_loop(lambda v: len(v) > 1 and v[-1] > v[-2], watch_training=True)
es_break_before_record = _simple_loop(lambda v: len(v) > 1 and v[-1] > v[-2], record_first=False)
es_from_t2 = _simple_loop(lambda v: len(v) > 2 and v[-1] > v[-2])


def es_extra_step(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    """Checks the previous iteration's rise at the top of the next one, after one more step."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        if len(valid_losses) > 1 and valid_losses[-1] > valid_losses[-2]:
            break
        losses.append(loss.item())
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
    return losses, valid_losses


WRONG_SIMPLE = {
    es_ties_stop: "ties do not stop",
    es_never_stops: "stops at the first increase",
    es_stops_on_decrease: "stops at the first increase",
    es_watches_training: "stops at the first increase",
    es_break_before_record: "records the stopping iteration",
    es_from_t2: "stops at the first increase",
    es_extra_step: "SGD steps",
}


# ----------------------------------------------------------------------------- patient, correct

def pes_slice(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
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
        if len(valid_losses) > 50 and np.mean(valid_losses[-51:-1]) < valid_losses[-1]:
            break
    return losses, valid_losses


def pes_index(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for t in auto_tqdm(range(steps)):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
        if t >= 50 and valid_losses[t] > sum(valid_losses[t - 50:t]) / 50:
            break
    return losses, valid_losses


def pes_torch_mean(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    """Keeps 0-dim float32 tensors and averages them in float32."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        with torch.no_grad():
            valid_losses.append(loss_func(model(xvalid), yvalid))
        if len(valid_losses) >= 51:
            window = torch.stack(valid_losses[-51:-1])
            if valid_losses[-1] > window.mean():
                break
    return losses, valid_losses


def pes_deque(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    from collections import deque
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    window = deque(maxlen=50)
    for _ in range(steps):
        model.zero_grad()
        loss = loss_func(model(x), y)
        loss.backward()
        optimizer.step()
        valid = float(loss_func(model(xvalid), yvalid))
        losses.append(float(loss))
        valid_losses.append(valid)
        if len(window) == 50 and valid > np.mean(window):
            break
        window.append(valid)
    return losses, valid_losses


CORRECT_PATIENT = [pes_slice, pes_index, pes_torch_mean, pes_deque]


# ----------------------------------------------------------------------------- patient, wrong

def _patient_loop(stop, watch_training=False):
    def gradient_descent_patient_early_stopping(model, loss_func, x, y, xvalid, yvalid,
                                                lr=0.1, steps=5000):
        optimizer = optim.SGD(model.parameters(), lr=lr)
        losses, valid_losses = [], []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_func(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
            if stop(losses if watch_training else valid_losses):
                break
        return losses, valid_losses
    return gradient_descent_patient_early_stopping


pes_seed_49 = _patient_loop(lambda v: len(v) > 50 and np.mean(v[-50:-1]) < v[-1])
pes_includes_current = _patient_loop(lambda v: len(v) > 50 and np.mean(v[-50:]) < v[-1])
pes_no_minimum = _patient_loop(lambda v: len(v) > 1 and np.mean(v[-51:-1]) < v[-1])
pes_simple_rule = _patient_loop(lambda v: len(v) > 1 and v[-2] < v[-1])
pes_previous_after_50 = _patient_loop(lambda v: len(v) > 50 and v[-2] < v[-1])
pes_never = _patient_loop(lambda v: False)
pes_on_decrease = _patient_loop(lambda v: len(v) > 50 and np.mean(v[-51:-1]) > v[-1])
pes_watches_training = _patient_loop(lambda v: len(v) > 50 and np.mean(v[-51:-1]) < v[-1],
                                     watch_training=True)
pes_starts_late = _patient_loop(lambda v: len(v) > 51 and np.mean(v[-51:-1]) < v[-1])
pes_starts_early = _patient_loop(lambda v: len(v) >= 50 and np.mean(v[-51:-1]) < v[-1])

WRONG_PATIENT = {
    pes_seed_49: "mean of the previous 50",
    pes_includes_current: "mean of the previous 50",
    pes_no_minimum: "checks start at t=50",
    pes_simple_rule: "checks start at t=50",
    pes_previous_after_50: "mean of the previous 50",
    pes_never: "stops above the mean",
    pes_on_decrease: "stops above the mean",
    pes_watches_training: "stops above the mean",
    pes_starts_late: "checks start at t=50",
    pes_starts_early: "checks start at t=50",
}

# Partial credit (test_early_stopping declares stopping rule 0.5, SGD steps 0.3, validation
# losses 0.2): a wrong loop -> (the share of the points it earns, the properties that hold),
# on every seed; the simple rule, then the patient one.
PARTIAL_SIMPLE = {
    es_extra_step: (0.7, ("stopping rule", "validation losses")),
    es_ties_stop: (0.5, ("SGD steps", "validation losses")),
    es_break_before_record: (0.2, ("validation losses",)),
}
PARTIAL_PATIENT = {
    next(fn for fn, prop in WRONG_PATIENT.items() if prop == "mean of the previous 50"):
        (0.5, ("SGD steps", "validation losses")),
}
