"""optimize_f as students write it (hw1 Part 1): correct variants and the usual mistakes.

The notebook's f and its gradient are module globals here, as in the notebook, so the
implementations can call them.  CORRECT_* must pass; WRONG_* map an implementation to the
``prop`` its failure must name.
"""

import math

import numpy as np
import torch


def f(x, y):
    return x ** 2 + y ** 2 + x * (y + 2) + np.cos(3 * x)


def grad_x_f(x, y):
    return 2 * x - 3 * np.sin(3 * x) + y + 2


def grad_y_f(x, y):
    return x + 2 * y


step_size = 0.1  # notebook-style globals that a wrong function may read
steps = 10


# ----------------------------------------------------------------------------- (a) correct

def gd_lists(x, y, step_size, steps):
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        dx, dy = grad_x_f(x, y), grad_y_f(x, y)
        x = x - step_size * dx
        y = y - step_size * dy
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_arrays(x, y, step_size, steps):
    x_hist, y_hist = np.zeros(steps + 1), np.zeros(steps + 1)
    x_hist[0], y_hist[0] = x, y
    for t in range(1, steps + 1):
        x, y = x - step_size * grad_x_f(x, y), y - step_size * grad_y_f(x, y)
        x_hist[t], y_hist[t] = x, y
    return x, y, f(x, y), x_hist, y_hist


def gd_inline_math(x, y, step_size, steps):
    """Gradient typed out with math, a while loop, a point as a tuple."""
    point = (x, y)
    xs, ys = [x], [y]
    count = 0
    while count < steps:
        px, py = point
        gx = 2 * px - 3 * math.sin(3 * px) + py + 2
        gy = px + 2 * py
        point = (px - step_size * gx, py - step_size * gy)
        xs.append(point[0])
        ys.append(point[1])
        count += 1
    px, py = point
    return px, py, px ** 2 + py ** 2 + px * (py + 2) + math.cos(3 * px), xs, ys


def gd_vector(x, y, step_size, steps):
    """numpy vector for the point, history as a stacked array."""
    p = np.array([x, y], dtype=float)
    hist = [p.copy()]
    for _ in range(steps):
        g = np.array([grad_x_f(*p), grad_y_f(*p)])
        p = p - step_size * g
        hist.append(p.copy())
    hist = np.array(hist)
    return p[0], p[1], f(p[0], p[1]), list(hist[:, 0]), list(hist[:, 1])


def gd_torch_autograd(x, y, step_size, steps):
    """Gradients from autograd on float64 tensors: floats returned."""
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        px = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        py = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        value = px ** 2 + py ** 2 + px * (py + 2) + torch.cos(3 * px)
        value.backward()
        x, y = x - step_size * px.grad.item(), y - step_size * py.grad.item()
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


CORRECT_A = [gd_lists, gd_arrays, gd_inline_math, gd_vector, gd_torch_autograd]


# ----------------------------------------------------------------------------- decay correct

def gd_decay_power(x, y, step_size, steps, decay=1.0):
    x_hist, y_hist = [x], [y]
    for step in range(steps):
        eta = step_size * decay ** step
        dx, dy = grad_x_f(x, y), grad_y_f(x, y)
        x, y = x - eta * dx, y - eta * dy
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_decay_running(x, y, step_size, steps, decay=1.0):
    """A running step size multiplied by decay AFTER each step: the same schedule."""
    x_hist, y_hist = [x], [y]
    eta = step_size
    for _ in range(steps):
        dx = grad_x_f(x, y)
        dy = grad_y_f(x, y)
        x -= eta * dx
        y -= eta * dy
        eta *= decay
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_decay_schedule(x, y, step_size, steps, decay=1.0):
    etas = step_size * np.power(decay, np.arange(steps))
    x_hist, y_hist = [x], [y]
    for eta in etas:
        x, y = x - eta * grad_x_f(x, y), y - eta * grad_y_f(x, y)
        x_hist.append(float(x))
        y_hist.append(float(y))
    return float(x), float(y), float(f(x, y)), x_hist, y_hist


def gd_decay_pow(x, y, step_size, steps, decay=1.0):
    xs, ys = [x], [y]
    for t in range(steps):
        lr = step_size * math.pow(decay, t)
        gx, gy = grad_x_f(xs[-1], ys[-1]), grad_y_f(xs[-1], ys[-1])
        xs.append(xs[-1] - lr * gx)
        ys.append(ys[-1] - lr * gy)
    return xs[-1], ys[-1], f(xs[-1], ys[-1]), xs, ys


CORRECT_DECAY = [gd_decay_power, gd_decay_running, gd_decay_schedule, gd_decay_pow]


# ----------------------------------------------------------------------------- (a) wrong

def gd_ascent(x, y, step_size, steps):
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        x, y = x + step_size * grad_x_f(x, y), y + step_size * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_sequential(x, y, step_size, steps):
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        x = x - step_size * grad_x_f(x, y)
        y = y - step_size * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_no_start(x, y, step_size, steps):
    x_hist, y_hist = [], []
    for _ in range(steps):
        x, y = x - step_size * grad_x_f(x, y), y - step_size * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_record_before(x, y, step_size, steps):
    """Appends before updating: the start twice, the last point missing."""
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        x_hist.append(x)
        y_hist.append(y)
        x, y = x - step_size * grad_x_f(x, y), y - step_size * grad_y_f(x, y)
    return x, y, f(x, y), x_hist, y_hist


def gd_value_at_start(x, y, step_size, steps):
    x0, y0 = x, y
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        x, y = x - step_size * grad_x_f(x, y), y - step_size * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x0, y0), x_hist, y_hist


def gd_four_values(x, y, step_size, steps):
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        x, y = x - step_size * grad_x_f(x, y), y - step_size * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, x_hist, y_hist


def gd_global_step(x, y, step_size_, steps):
    """Reads the notebook's global step_size instead of its argument."""
    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        x, y = x - step_size * grad_x_f(x, y), y - step_size * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


WRONG_A = {
    gd_ascent: "history values",
    gd_sequential: "history values",
    gd_no_start: "history length",
    gd_record_before: "history values",
    gd_value_at_start: "final value",
    gd_four_values: "returns 5 values",
    gd_global_step: "history values",
}


# ----------------------------------------------------------------------------- decay wrong

def gd_decay_compounded(x, y, step_size, steps, decay=1.0):
    """The seed's answer: the running step size multiplied by decay**step every step."""
    x_hist, y_hist = [x], [y]
    for step in range(steps):
        dx, dy = grad_x_f(x, y), grad_y_f(x, y)
        step_size = step_size * decay ** step
        x = x - step_size * dx
        y = y - step_size * dy
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_decay_shifted(x, y, step_size, steps, decay=1.0):
    x_hist, y_hist = [x], [y]
    for step in range(steps):
        eta = step_size * decay ** (step + 1)
        x, y = x - eta * grad_x_f(x, y), y - eta * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


def gd_decay_ignored(x, y, step_size, steps, decay=1.0):
    return gd_lists(x, y, step_size, steps)


def gd_decay_no_default(x, y, step_size, steps, decay):
    return gd_decay_power(x, y, step_size, steps, decay)


def gd_decay_running_before(x, y, step_size, steps, decay=1.0):
    """Multiplies the running step size BEFORE the step: off by one."""
    x_hist, y_hist = [x], [y]
    eta = step_size
    for _ in range(steps):
        eta *= decay
        x, y = x - eta * grad_x_f(x, y), y - eta * grad_y_f(x, y)
        x_hist.append(x)
        y_hist.append(y)
    return x, y, f(x, y), x_hist, y_hist


WRONG_DECAY = {
    gd_decay_compounded: "step-size schedule",
    gd_decay_shifted: "step-size schedule",
    gd_decay_ignored: "step-size schedule",
    gd_decay_no_default: "your code raised an exception",
    gd_decay_running_before: "step-size schedule",
}


# ----------------------------------------------------------------------------- settings

CORRECT_SETTINGS = [(0.15, 20, 1.0), (0.2, 30, 0.97), (0.35, 20, 0.9), (0.2, 10, 0.95),
                    (np.float64(0.2), np.int64(50), np.float64(0.99))]
WRONG_SETTINGS = {
    (0.1, 10, 1.0): "final value",      # the notebook's first run: a local minimum
    (0.3, 30, 1.0): "final value",
    (0.2, 20, 0.5): "final value",      # decays too fast: stops early
    (0.2, 0, 1.0): "settings",
    (0.2, 20.5, 1.0): "settings",
    (-0.2, 20, 1.0): "settings",
    (0.2, 20, 1.5): "settings",
    ("0.2", 20, 1.0): "settings",
    (0.2, 10 ** 6, 1.0): "settings",
}
