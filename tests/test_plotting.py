"""plotRegression draws what the notebook promises, with real matplotlib (Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from torch import nn  # noqa: E402

from support.plotting import plotRegression  # noqa: E402


class ModeRecorder(nn.Module):
    """Identity that remembers the train/eval flag and grad mode of each forward call."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return x


@pytest.fixture(autouse=True)
def close_figures():
    plt.close("all")
    yield
    plt.close("all")


def data(n=30, device="cpu"):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, generator=generator) * 10 - 5
    xvalid = torch.rand(n + 7, 1, generator=generator) * 10 - 5
    return [t.to(device) for t in (x, x ** 2 / 2, xvalid, xvalid ** 2 / 2)]


def scatter_labels(ax):
    return sorted(c.get_label() for c in ax.collections if isinstance(c, PathCollection))


def line_labels(ax):
    return sorted(line.get_label() for line in ax.get_lines())


def test_data_only_one_panel_with_both_sets():
    x, y, xvalid, yvalid = data()
    plotRegression(x, y, xvalid, yvalid)
    fig = plt.gcf()
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert scatter_labels(ax) == ["training data", "validation data"]
    sizes = {c.get_label(): len(c.get_offsets()) for c in ax.collections}
    assert sizes == {"training data": 30, "validation data": 37}
    assert ax.get_lines() == []


def test_tensor_histories_and_model():
    x, y, xvalid, yvalid = data()
    model = nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 1))
    losses = [torch.tensor(10.0 / (t + 1), requires_grad=True) * 1 for t in range(40)]
    valid_losses = [torch.tensor(12.0 / (t + 1)) for t in range(40)]
    plotRegression(x, y, xvalid, yvalid, loss_history=losses, valid_loss_history=valid_losses,
                   model=model)
    fig = plt.gcf()
    assert len(fig.axes) == 2  # the data panel and the loss panel
    data_ax, loss_ax = fig.axes
    assert scatter_labels(data_ax) == ["training data", "validation data"]
    assert line_labels(data_ax) == ["model prediction"]
    grid, prediction = data_ax.get_lines()[0].get_data()
    with torch.no_grad():
        expected = model(torch.tensor(grid, dtype=torch.float32).reshape(-1, 1)).reshape(-1)
    np.testing.assert_allclose(prediction, expected.numpy(), rtol=1e-5, atol=1e-6)
    all_x = torch.cat([x, xvalid]).reshape(-1)
    assert grid.min() == pytest.approx(float(all_x.min()))
    assert grid.max() == pytest.approx(float(all_x.max()))
    assert line_labels(loss_ax) == ["training loss", "validation loss"]
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    np.testing.assert_allclose(lines["training loss"].get_ydata(), [10.0 / (t + 1) for t in range(40)],
                               rtol=1e-6)
    np.testing.assert_allclose(lines["validation loss"].get_xdata(), np.arange(40))
    assert loss_ax.get_yscale() == "log"
    assert loss_ax.get_xlabel() == "iteration"
    assert loss_ax.get_legend() is not None
    assert data_ax.get_legend() is not None


def test_numpy_and_float_histories_one_history_only():
    x, y, xvalid, yvalid = (t.numpy() for t in data())
    plotRegression(x, y, xvalid, yvalid, loss_history=np.linspace(5, 1, 20))
    loss_ax = plt.gcf().axes[1]
    assert line_labels(loss_ax) == ["training loss"]
    plt.close("all")
    plotRegression(x, y, xvalid, yvalid, valid_loss_history=[3.0, 2.0, np.float32(1.5)])
    assert line_labels(plt.gcf().axes[1]) == ["validation loss"]


def test_model_evaluated_in_eval_mode_without_grad_and_mode_restored():
    x, y, xvalid, yvalid = data()
    recorder = ModeRecorder()
    model = nn.Sequential(nn.Linear(1, 4), recorder, nn.Linear(4, 1))
    model.train()
    plotRegression(x, y, xvalid, yvalid, model=model)
    assert recorder.seen == [(False, False)]
    assert all(m.training for m in model.modules())
    # a mixed state (one submodule in eval mode) is restored exactly
    model.eval()
    model[0].train()
    plotRegression(x, y, xvalid, yvalid, model=model)
    assert [m.training for m in model.modules()] == [False, True, False, False]


def test_diverged_run_is_drawn_without_error():
    x, y, xvalid, yvalid = data()
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(float("nan"))
    plotRegression(x, y, xvalid, yvalid, loss_history=[1.0, float("inf"), float("nan")],
                   valid_loss_history=[float("nan")] * 3, model=model)
    data_ax, loss_ax = plt.gcf().axes
    assert "diverged" in data_ax.get_title()
    assert loss_ax.get_yscale() == "log"
    assert loss_ax.get_title() == ("training loss not finite from iteration 1; "
                                   "validation loss not finite from iteration 0")
    assert loss_ax.get_lines()[0].get_marker() == "o"  # few finite points: drawn as dots
    assert loss_ax.get_xlim()[1] >= 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_model_on_cuda():
    x, y, xvalid, yvalid = data(device="cuda")
    model = nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 1)).cuda()
    losses = [torch.tensor(1.0 / (t + 1), device="cuda") for t in range(10)]
    plotRegression(x, y, xvalid, yvalid, loss_history=losses, valid_loss_history=losses,
                   model=model)
    assert line_labels(plt.gcf().axes[0]) == ["model prediction"]
