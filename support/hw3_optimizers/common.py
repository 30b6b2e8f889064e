"""Data, the model and the plots for hw3_optimizers; nothing here is an answer to a question.

Data, all offline: scikit-learn's bundled 8x8 handwritten digits (1797 images, nothing is
downloaded), pixels scaled from 0..16 to [0, 1] and flattened to 64 features, split once with
a fixed generator into 1097 training, 300 validation and 400 test images.  MNIST is used only
if torchvision is installed *and* its files are already on disk (:func:`load_mnist`).

The model is the seed's multi-layer perceptron, :class:`MLP`, whose output is the
log-softmax of the last layer, so that ``F.nll_loss`` on it is the cross-entropy.

The experiment helpers take the update functions the students write as arguments; they
only run them, they do not contain them.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..numeric import bundled_digits, single_thread  # noqa: F401 - used by the checks

SPLIT_SEED = 0
N_TEST, N_VAL = 400, 300
PIXEL_MAX = 16.0

# The 2-parameter experiment: the weight from the centre pixel (row 3, column 3 of the 8x8
# image) to class 0, and the bias of class 7; everything else stays at its initial value.
WEIGHT_INDEX = (0, 27)
BIAS_INDEX = 7

# The closing exercise's benchmark: the seed's network, MLP(64, 10, [200, 100, 50]),
# trained with plain minibatch SGD (Part 5's method): learning rate 0.1, 1000 minibatches of
# 64 training images reshuffled every epoch (about 58 epochs), from one fixed initialisation.
BENCHMARK_HIDDEN = (200, 100, 50)
BENCHMARK_LR = 0.1
BENCHMARK_BATCH = 64
BENCHMARK_STEPS = 1000
BENCHMARK_SEED = 0


# ----------------------------------------------------------------------------- data

@lru_cache(maxsize=1)
def _digits_numpy():
    """(pixels in [0, 1] as float64 (1797, 64), classes (1797,), split permutation)."""
    pixels, classes = bundled_digits()
    x = pixels / PIXEL_MAX
    y = classes.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    return x, y, order


def split_indices() -> dict:
    """Row indices of the 'test' (400), 'val' (300) and 'train' (1097) parts."""
    _, _, order = _digits_numpy()
    return {"test": order[:N_TEST], "val": order[N_TEST:N_TEST + N_VAL],
            "train": order[N_TEST + N_VAL:]}


def digits_part(part: str, dtype=np.float64):
    """(pixels (n, 64), classes (n,)) of one part of the split, as numpy arrays."""
    x, y, _ = _digits_numpy()
    index = split_indices()[part]
    return x[index].astype(dtype), y[index].copy()


def load_digits_split():
    """``(X_train, y_train, X_val, y_val, X_test, y_test)`` as fresh CPU tensors.

    Pixels are float32 in [0, 1], shape (n, 64); classes are int64 in 0..9, shape (n,).
    1097 training, 300 validation and 400 test images; the same split on every call.
    """
    out = []
    for part in ("train", "val", "test"):
        x, y = digits_part(part, np.float32)
        out += [torch.from_numpy(x), torch.from_numpy(y)]
    return tuple(out)


def load_mnist(root="data"):
    """MNIST as ``(X_train, y_train, X_test, y_test)``, ONLY from files already under ``root``.

    Needs torchvision (not a dependency of this course) and the files of
    ``torchvision.datasets.MNIST(root)``; nothing is ever downloaded.  Pixels are scaled to
    [0, 1] and flattened to 784 features.  Raises ImportError or FileNotFoundError with a
    message saying what is missing.
    """
    try:
        import torchvision  # noqa: F401 - optional
        from torchvision.datasets import MNIST
    except ImportError as error:
        raise ImportError("load_mnist needs torchvision, which this course does not "
                          "install; the notebook uses the bundled 8x8 digits") from error
    if not Path(root, "MNIST").exists():
        raise FileNotFoundError(f"no MNIST files under {Path(root).resolve()}; this course "
                                "never downloads them (use the bundled 8x8 digits)")
    parts = []
    for train in (True, False):
        data = MNIST(root, train=train, download=False)
        parts += [data.data.reshape(len(data.data), -1).float() / 255.0, data.targets.clone()]
    return tuple(parts)


# ----------------------------------------------------------------------------- model

class MLP(nn.Module):
    """A multi-layer perceptron for classification whose output is log-probabilities.

    ``MLP(in_dim, out_dim, hidden_dims)``: linear layers of sizes
    in_dim -> hidden_dims[0] -> ... -> hidden_dims[-1] -> out_dim, with a ReLU after every
    layer but the last, then a log-softmax over the classes.  ``hidden_dims=()`` (the
    default) is the linear model: one affine map followed by the log-softmax.  Inputs are
    flattened to ``(batch, in_dim)`` first, so 8x8 images work as well as 64-vectors.
    """

    def __init__(self, in_dim=64, out_dim=10, hidden_dims=(), use_bias=True):
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        sizes = [in_dim, *hidden_dims, out_dim]
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out, bias=use_bias))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return F.log_softmax(self.main(x.reshape(-1, self.in_dim)), dim=1)


def zero_grad(params):
    """Reset the ``.grad`` of every tensor in ``params`` (a tensor without one is skipped)."""
    for p in params:
        if p.grad is not None:
            p.grad.detach_()
            p.grad.zero_()


def print_params(model):
    """Each named parameter of ``model``, with its shape and first values."""
    for name, p in model.named_parameters():
        print(f"{name} {tuple(p.shape)}: {p.detach().reshape(-1)[:6].cpu().numpy().round(4)} ...")


def evaluate(model, inputs, targets):
    """(mean NLL loss, accuracy) of ``model`` on the data, without gradients, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            out = model(inputs.to(device))
            targets = targets.to(device)
            loss = F.nll_loss(out, targets).item()
            accuracy = (out.argmax(dim=1) == targets).double().mean().item()
    finally:
        model.train(was_training)
    return loss, accuracy


def shuffled_batches(n: int, batch_size: int, num_steps: int, seed: int):
    """Index tensors for ``num_steps`` minibatches: the data reshuffled every epoch.

    Each epoch is a fresh permutation of range(n) (a generator seeded ``seed``) cut into
    batches of ``batch_size``; a last batch that would be short is dropped.
    """
    generator = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, n)
    order, position = torch.randperm(n, generator=generator), 0
    for _ in range(num_steps):
        if position + batch_size > n:
            order, position = torch.randperm(n, generator=generator), 0
        yield order[position:position + batch_size]
        position += batch_size


def train_model(model, optimizer, inputs, targets, batch_size, num_steps, seed=0,
                val_inputs=None, val_targets=None, eval_every=50, progress=False):
    """Train with ``optimizer`` on NLL loss; returns a history dict.

    Step t: a minibatch from :func:`shuffled_batches`, ``optimizer.zero_grad()``, the NLL
    loss of ``model`` on it, ``backward()``, ``optimizer.step()``.  The history holds
    'train_loss' (every step) and, with validation data, 'val_step', 'val_loss', 'val_acc'
    every ``eval_every`` steps and after the last one.  Data are moved to the model's device.
    """
    device = next(model.parameters()).device
    inputs, targets = inputs.to(device), targets.to(device)
    history = {"train_loss": [], "val_step": [], "val_loss": [], "val_acc": []}
    batches = shuffled_batches(len(inputs), batch_size, num_steps, seed)
    if progress:
        from tqdm.auto import tqdm
        batches = tqdm(batches, total=num_steps, desc="training")
    model.train()
    for step, index in enumerate(batches, start=1):
        index = index.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(inputs[index]), targets[index])
        loss.backward()
        optimizer.step()
        history["train_loss"].append(loss.item())
        if val_inputs is not None and (step % eval_every == 0 or step == num_steps):
            val_loss, val_acc = evaluate(model, val_inputs, val_targets)
            history["val_step"].append(step)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
    return history


def _one_blas_thread():
    """numpy's BLAS on one thread (these matrices are tiny; threads only cost time)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def benchmark_start(seed: int = BENCHMARK_SEED) -> list:
    """The benchmark's initial [(W, b), ...] (W: (fan_in, fan_out)), float64.

    PyTorch's default for ``nn.Linear``: every entry of W and b uniform on
    [-1/sqrt(fan_in), 1/sqrt(fan_in)]; drawn layer by layer, W then b, from
    ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    sizes = [64, *BENCHMARK_HIDDEN, 10]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_in, fan_out)),
                       rng.uniform(-bound, bound, fan_out)))
    return layers


def benchmark_batches(n: int, seed: int = BENCHMARK_SEED) -> list:
    """The benchmark's minibatches: every epoch a permutation of range(n) from
    ``numpy.random.default_rng([seed, 1])``, cut into batches of BENCHMARK_BATCH (a short
    last batch dropped), BENCHMARK_STEPS of them."""
    rng = np.random.default_rng([seed, 1])
    batches, order, position = [], rng.permutation(n), 0
    for _ in range(BENCHMARK_STEPS):
        if position + BENCHMARK_BATCH > n:
            order, position = rng.permutation(n), 0
        batches.append(order[position:position + BENCHMARK_BATCH])
        position += BENCHMARK_BATCH
    return batches


def _mlp_logits(layers, x):
    """Forward pass of the benchmark MLP; returns (logits, the input of every layer)."""
    inputs = []
    h = x
    for i, (w, b) in enumerate(layers):
        inputs.append(h)
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h, inputs


@lru_cache(maxsize=1)
def benchmark_predictions() -> np.ndarray:
    """The benchmark's predicted classes for the 400 test images (computed once per process).

    The benchmark is the seed's network, MLP(64, 10, [200, 100, 50]) (38,660 parameters),
    trained by plain minibatch SGD on the mean NLL of the 1097 training images: from
    :func:`benchmark_start`, BENCHMARK_STEPS steps over :func:`benchmark_batches`, each
    w <- w - BENCHMARK_LR * dJ/dw with the gradient written out (backpropagation through the
    log-softmax, the linear layers and the ReLUs):
        dJ/dlogits = (P - Y) / B,   dJ/dW = h^T dJ/dz,   dJ/db = sum_rows dJ/dz,
        dJ/dh = dJ/dz W^T, times 1[z > 0] below a ReLU.
    Computed in float64 numpy on one thread, so it is the same on every machine (no torch
    kernels, no GPU); it takes about half a second.  A test recomputes it with torch's
    autograd.
    """
    x, y = digits_part("train")
    onehot = np.eye(10)[y]
    layers = [(w.copy(), b.copy()) for w, b in benchmark_start()]
    with _one_blas_thread():
        for index in benchmark_batches(len(x)):
            logits, inputs = _mlp_logits(layers, x[index])
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            grad = (p - onehot[index]) / len(index)
            for i in range(len(layers) - 1, -1, -1):
                w, b = layers[i]
                grad_w, grad_b = inputs[i].T @ grad, grad.sum(axis=0)
                if i > 0:
                    grad = (grad @ w.T) * (inputs[i] > 0)
                layers[i] = (w - BENCHMARK_LR * grad_w, b - BENCHMARK_LR * grad_b)
        x_test, _ = digits_part("test")
        logits, _ = _mlp_logits(layers, x_test)
    predictions = np.argmax(logits, axis=1)
    predictions.setflags(write=False)
    return predictions


def benchmark_accuracy() -> float:
    """The benchmark's accuracy on the 400 test images: 0.9575 (383 of them right)."""
    _, y_test = digits_part("test")
    return float(np.mean(benchmark_predictions() == y_test))


# ----------------------------------------------------------------------------- plots of data

def show_digits(inputs, targets, n=4):
    """The first ``n`` images (64-pixel rows) with their classes and pixel values."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.8))
    for ax, image, label in zip(np.atleast_1d(axes), inputs[:n], targets[:n]):
        pixels = image.detach().cpu().reshape(8, 8).numpy()
        ax.matshow(pixels, cmap="gray_r", vmin=0, vmax=1)
        for (i, j), z in np.ndenumerate(pixels):
            ax.text(j, i, f"{z:.1f}", ha="center", va="center", fontsize=6, color="tab:blue")
        ax.set_title(f"class {int(label)}")
        ax.axis("off")
    plt.show()


def show_class_filters(model):
    """The rows of a linear model's weight matrix (one per class) as 8x8 images, red for
    positive and blue for negative weights (each row on its own symmetric scale)."""
    import matplotlib.pyplot as plt

    weight = next(m for m in model.modules() if isinstance(m, nn.Linear)).weight
    weight = weight.detach().cpu().numpy()
    fig, axes = plt.subplots(1, len(weight), figsize=(1.4 * len(weight), 1.8))
    for k, ax in enumerate(axes):
        scale = np.abs(weight[k]).max() or 1.0
        ax.imshow(weight[k].reshape(8, 8), cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_title(f"class {k}", fontsize=9)
        ax.axis("off")
    plt.show()


def plot_losses(histories: dict, xlabel="iteration", ylabel="training loss", ylim=None,
                title=None, separate=False):
    """One curve per entry of ``histories`` ({label: losses} or {label: (xs, losses)})."""
    import matplotlib.pyplot as plt

    items = list(histories.items())
    if separate:
        fig, axes = plt.subplots(1, len(items), figsize=(3.6 * len(items), 3), sharey=True)
        axes = np.atleast_1d(axes)
    else:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        axes = [ax] * len(items)
    for ax, (label, values) in zip(axes, items):
        xs, ys = values if isinstance(values, tuple) else (np.arange(len(values)), values)
        ax.plot(xs, ys, label=str(label), alpha=0.85)
        ax.set_xlabel(xlabel)
        if separate:
            ax.set_title(str(label))
    axes[0].set_ylabel(ylabel)
    if ylim is not None:
        axes[0].set_ylim(*ylim)
    if not separate:
        axes[0].legend()
        if title:
            axes[0].set_title(title)
    plt.tight_layout()
    plt.show()


# ----------------------------------------------------------------------------- two parameters

def make_loss_2d(model, inputs, targets, weight_index=WEIGHT_INDEX, bias_index=BIAS_INDEX):
    """The training loss as a function of two parameters of a linear model, f(u, v).

    Every parameter of the model's (first) linear layer is frozen at its current value,
    except ``weight[weight_index]`` (replaced by u) and ``bias[bias_index]`` (replaced by
    v).  ``f(u, v)`` returns the mean NLL over (inputs, targets) as a 0-dim tensor,
    differentiable in u and v (0-dim tensors or floats).
    """
    linear = next(m for m in model.modules() if isinstance(m, nn.Linear))
    weight = linear.weight.detach().clone().cpu()
    bias = linear.bias.detach().clone().cpu()
    row, col = weight_index
    weight[row, col] = 0.0
    bias[bias_index] = 0.0
    inputs = inputs.detach().cpu().reshape(len(inputs), -1).to(weight.dtype)
    targets = targets.detach().cpu()
    frozen = inputs @ weight.T + bias
    pixel = inputs[:, col]
    weight_unit = torch.zeros(weight.shape[0], dtype=weight.dtype)
    weight_unit[row] = 1.0
    bias_unit = torch.zeros(weight.shape[0], dtype=weight.dtype)
    bias_unit[bias_index] = 1.0

    def loss_2d(u, v):
        u = torch.as_tensor(u, dtype=weight.dtype)
        v = torch.as_tensor(v, dtype=weight.dtype)
        logits = frozen + (u * pixel)[:, None] * weight_unit + v * bias_unit
        return F.nll_loss(F.log_softmax(logits, dim=1), targets)

    return loss_2d


def newton_optimum_2d(func, start=(0.0, 0.0), steps=30):
    """The minimiser of a smooth convex f(u, v), by Newton's method (w <- w - H^-1 grad)."""
    point = torch.tensor(start, dtype=torch.float64)

    def f(w):
        return func(w[0], w[1]).double()

    for _ in range(steps):
        grad = torch.autograd.functional.jacobian(f, point)
        hessian = torch.autograd.functional.hessian(f, point)
        point = point - torch.linalg.solve(hessian, grad)
    return point.numpy()


def _takes_state(update_fn) -> bool:
    """Whether update_fn(loss, params, state, ...) has a third argument for its state."""
    try:
        names = list(inspect.signature(update_fn).parameters)
    except (TypeError, ValueError):
        return True
    return len(names) >= 3 and names[2] not in ("lr", "learning_rate")


def run_optimizer(inits, eval_fn, update_fn, max_steps=300, optim_kwargs=None,
                  with_state=None):
    """Run ``update_fn`` on the parameters ``inits`` of ``eval_fn``; return the trajectory.

    The parameters are 0-dim ``nn.Parameter``s started at ``inits``.  Each step computes
    ``loss = eval_fn(*params)`` and calls ``update_fn(loss, params, **optim_kwargs)``, or
    ``update_fn(loss, params, state, **optim_kwargs)`` for an update with a state (momentum's
    velocities, RMSprop's averages: zeros at the start; detected from the signature unless
    ``with_state`` says).  Returns an array (max_steps + 1, len(inits) + 1): the parameters
    and the loss before each step, and after the last one.
    """
    optim_kwargs = dict(optim_kwargs or {})
    with_state = _takes_state(update_fn) if with_state is None else with_state
    params = [nn.Parameter(torch.tensor(float(v))) for v in inits]
    state = [torch.zeros_like(p) for p in params]
    trajectory = np.zeros((max_steps + 1, len(params) + 1))
    for step in range(max_steps + 1):
        loss = eval_fn(*params)
        trajectory[step] = [p.item() for p in params] + [loss.item()]
        if step == max_steps:
            break
        if with_state:
            update_fn(loss, params, state, **optim_kwargs)
        else:
            update_fn(loss, params, **optim_kwargs)
    return trajectory


def plot_param_distance(best, trajectories, labels, log=True, names=("weight", "bias")):
    """Distance to the optimum of each parameter along each trajectory, per iteration."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    styles = ["-", "--", ":", "-."]
    colors = ["tab:blue", "tab:orange"]
    for k, (traj, label) in enumerate(zip(trajectories, labels)):
        for d, name in enumerate(names):
            dist = np.abs(traj[:, d] - best[d])
            if log:
                dist = np.log10(1e-16 + dist)
            ax.plot(dist, styles[k % len(styles)], color=colors[d], label=f"{name}, {label}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("log10 |w - w*|" if log else "|w - w*|")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    plt.tight_layout()
    plt.show()


def plot_trajectories_2d(func, best, trajectories, labels, limits=None, grid=40):
    """Contours of f(u, v) with the paths of the trajectories and the optimum (a star).

    ``limits`` = (u_min, u_max, v_min, v_max); by default the box around every path and the
    optimum, with a margin.
    """
    import matplotlib.pyplot as plt

    if limits is None:
        points = np.concatenate([t[:, :2] for t in trajectories] + [np.reshape(best, (1, 2))])
        low, high = points.min(axis=0), points.max(axis=0)
        margin = 0.08 * (high - low) + 0.1
        limits = (low[0] - margin[0], high[0] + margin[0], low[1] - margin[1], high[1] + margin[1])
    us = np.linspace(limits[0], limits[1], grid)
    vs = np.linspace(limits[2], limits[3], grid)
    with torch.no_grad():
        z = np.array([[func(u, v).item() for u in us] for v in vs])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    contours = ax.contour(us, vs, z, levels=25, cmap="viridis", linewidths=0.7)
    fig.colorbar(contours, ax=ax, label="loss")
    for traj, label, color in zip(trajectories, labels, ["black", "tab:red", "tab:purple"]):
        ax.plot(traj[:, 0], traj[:, 1], ".-", color=color, markersize=2, linewidth=0.8,
                label=label)
    ax.plot(best[0], best[1], "*", color="lime", markersize=14, markeredgecolor="k",
            label="optimum")
    ax.set_xlabel("weight (pixel 27 -> class 0)")
    ax.set_ylabel("bias (class 7)")
    ax.set_xlim(limits[0], limits[1])
    ax.set_ylim(limits[2], limits[3])
    ax.legend(loc="upper left", fontsize=8)
    plt.show()


# ----------------------------------------------------------------------------- other demos

def perturbed_copy(model, noise_scale, generator):
    """A deep copy of ``model`` with N(0, noise_scale^2) noise added to every parameter."""
    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(noise_scale * torch.randn(p.shape, generator=generator).to(p))
    return other


def time_forward_backward(model, inputs, targets, sizes, repeats=5):
    """Mean seconds of a forward and of a backward pass on the first n examples, per n."""
    times = np.zeros((len(sizes), 2))
    for _ in range(repeats):
        for i, n in enumerate(sizes):
            model.zero_grad()
            start = time.perf_counter()
            loss = F.nll_loss(model(inputs[:n]), targets[:n])
            middle = time.perf_counter()
            loss.backward()
            end = time.perf_counter()
            times[i] += (middle - start, end - middle)
    return times / repeats


def plot_timings(sizes, times, title=""):
    """Forward and backward seconds against the number of examples."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(sizes, times[:, 0] * 1e3, "o-", label="forward")
    ax.plot(sizes, times[:, 1] * 1e3, "s-", label="backward")
    ax.set_xlabel("number of examples")
    ax.set_ylabel("milliseconds")
    ax.set_title(title)
    ax.legend()
    plt.tight_layout()
    plt.show()


def plot_training(history, benchmark=None):
    """Training loss per step and validation accuracy of a :func:`train_model` history."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    axes[0].plot(history["train_loss"], alpha=0.6, label="train (minibatch)")
    axes[0].plot(history["val_step"], history["val_loss"], "o-", label="validation")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    axes[1].plot(history["val_step"], history["val_acc"], "o-", label="validation")
    if benchmark is not None:
        axes[1].axhline(benchmark, color="k", linestyle="--", label="benchmark (test)")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("accuracy")
    axes[1].legend()
    plt.tight_layout()
    plt.show()
