"""Linear layers as students write them: correct variants and the usual mistakes.

Each class takes (in_dimensions, out_dimensions).  The wrong ones are listed with the
property the checker must name when it rejects them.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# ----------------------------------------------------------------------------- zeros: correct

class ZerosAt(nn.Module):
    """nn.Parameter(torch.zeros(...)) and the @ operator."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.zeros(out_dimensions))

    def forward(self, x):
        return x @ self.weights + self.bias


class ZerosMatmul(nn.Module):
    """requires_grad=True spelled out, torch.matmul."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros((in_dimensions, out_dimensions)),
                                    requires_grad=True)
        self.bias = nn.Parameter(torch.zeros((out_dimensions,)), requires_grad=True)

    def forward(self, x):
        return torch.matmul(x, self.weights) + self.bias


class ZerosInitLinear(nn.Module):
    """nn.init.zeros_ on empty tensors, F.linear with the transpose."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(nn.init.zeros_(torch.empty(in_dimensions, out_dimensions)))
        self.bias = nn.Parameter(nn.init.zeros_(torch.empty(out_dimensions)))

    def forward(self, x):
        return F.linear(x, self.weights.T, self.bias)


class ZerosRegisterAddmm(nn.Module):
    """register_parameter and torch.addmm."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.register_parameter("weights", nn.Parameter(torch.zeros(in_dimensions, out_dimensions)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(out_dimensions)))

    def forward(self, x):
        return torch.addmm(self.bias, x, self.weights)


class ZerosMmStored(nn.Module):
    """Keeps the sizes, new_zeros, x.mm(W) + b."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.in_dimensions, self.out_dimensions = in_dimensions, out_dimensions
        base = torch.tensor(0.0)
        self.weights = nn.Parameter(base.new_zeros(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(base.new_zeros(out_dimensions))

    def forward(self, x):
        return x.mm(self.weights) + self.bias


class ZerosEinsum(nn.Module):
    """torch.einsum, bias added with unsqueeze."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.zeros(out_dimensions))

    def forward(self, x):
        return torch.einsum("ni,io->no", x, self.weights) + self.bias.unsqueeze(0)


ZEROS_CORRECT = [ZerosAt, ZerosMatmul, ZerosInitLinear, ZerosRegisterAddmm, ZerosMmStored,
                 ZerosEinsum]


# ----------------------------------------------------------------------------- zeros: wrong

class ZerosTransposed(ZerosAt):
    """torch.nn.Linear's layout (out, in), transposed back in forward."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.zeros(out_dimensions, in_dimensions))

    def forward(self, x):
        return x @ self.weights.T + self.bias


class ZerosPlainTensors(nn.Module):
    """Tensors with requires_grad, never wrapped in nn.Parameter."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = torch.zeros(in_dimensions, out_dimensions, requires_grad=True)
        self.bias = torch.zeros(out_dimensions, requires_grad=True)

    def forward(self, x):
        return x @ self.weights + self.bias


class ZerosBiasNotParameter(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        del self.bias
        self.bias = torch.zeros(out_dimensions)


class ZerosNoBias(ZerosAt):
    def forward(self, x):
        return x @ self.weights


class ZerosDoubleBias(ZerosAt):
    def forward(self, x):
        return x @ self.weights + 2 * self.bias


class ZerosRowBias(ZerosAt):
    """Bias of shape (1, out): broadcasts, but is not the (out,) vector asked for."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.bias = nn.Parameter(torch.zeros(1, out_dimensions))


class ZerosRandomWeights(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions))


class ZerosOnesBias(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.bias = nn.Parameter(torch.ones(out_dimensions))


class ZerosWrapsLinear(ZerosAt):
    """Keeps an nn.Linear inside as well: extra parameters."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.linear = nn.Linear(in_dimensions, out_dimensions)


class ZerosWeightName(nn.Module):
    """torch's attribute name `weight` instead of `weights`."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.zeros(out_dimensions))

    def forward(self, x):
        return x @ self.weight + self.bias


class ZerosFloat64(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.from_numpy(np.zeros((in_dimensions, out_dimensions))))
        self.bias = nn.Parameter(torch.from_numpy(np.zeros(out_dimensions)))

    def forward(self, x):
        return x.double() @ self.weights + self.bias


class ZerosDetached(ZerosAt):
    def forward(self, x):
        return (x @ self.weights + self.bias).detach()


class ZerosNumpyForward(ZerosAt):
    def forward(self, x):
        return x.detach().cpu().numpy() @ self.weights.detach().cpu().numpy() \
            + self.bias.detach().cpu().numpy()


class ZerosFixedShape(ZerosAt):
    """Ignores the sizes it is given."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(1, 1)


class ZerosCrashes(ZerosAt):
    def forward(self, x):
        return x @ self.weights.T + self.bias


class ZerosMeanOverBatch(ZerosAt):
    def forward(self, x):
        return (x @ self.weights + self.bias).mean(dim=0)


ZEROS_WRONG = [
    (ZerosTransposed, "weights shape"),
    (ZerosPlainTensors, "weights registered as parameters"),
    (ZerosBiasNotParameter, "bias registered as parameters"),
    (ZerosNoBias, "forward values"),
    (ZerosDoubleBias, "forward values"),
    (ZerosRowBias, "bias shape"),
    (ZerosRandomWeights, "weights zero"),
    (ZerosOnesBias, "bias zero"),
    (ZerosWrapsLinear, "extra parameters"),
    (ZerosWeightName, "weights attribute"),
    (ZerosFloat64, "parameter dtype"),
    (ZerosDetached, "output differentiable"),
    (ZerosNumpyForward, "output type"),
    (ZerosFixedShape, "weights shape"),
    (ZerosCrashes, "your code raised an exception"),
    (ZerosMeanOverBatch, "output shape"),
]


# ----------------------------------------------------------------------------- normal: correct

class NormalRandn(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.randn(out_dimensions))


class NormalInit(ZerosMatmul):
    """nn.init.normal_ on the parameters after creating them."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        nn.init.normal_(self.weights, mean=0.0, std=1.0)
        nn.init.normal_(self.bias)


class NormalTorchNormal(ZerosInitLinear):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.normal(0.0, 1.0, size=(in_dimensions, out_dimensions)))
        self.bias = nn.Parameter(torch.normal(torch.zeros(out_dimensions),
                                              torch.ones(out_dimensions)))


class NormalInPlace(ZerosRegisterAddmm):
    """torch.empty(...).normal_() and a flat randn reshaped."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.empty(in_dimensions, out_dimensions).normal_())
        self.bias = nn.Parameter(torch.randn(out_dimensions * 1).view(out_dimensions))


class NormalFlatView(ZerosEinsum):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions * out_dimensions)
                                    .reshape(in_dimensions, out_dimensions))
        with torch.no_grad():
            self.bias.normal_(0, 1)


NORMAL_CORRECT = [NormalRandn, NormalInit, NormalTorchNormal, NormalInPlace, NormalFlatView]


# ----------------------------------------------------------------------------- normal: wrong

class NormalZeroBias(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions))


class NormalUniform(ZerosAt):
    """Uniform on [-sqrt(3), sqrt(3)]: mean 0, variance 1, wrong shape."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter((torch.rand(in_dimensions, out_dimensions) * 2 - 1)
                                    * math.sqrt(3))
        self.bias = nn.Parameter(torch.randn(out_dimensions))


class NormalScaled(ZerosAt):
    std = 1.05

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(self.std * torch.randn(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.randn(out_dimensions))


class NormalScaledDown(NormalScaled):
    std = 0.95


class NormalBiasScaled(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(1.05 * torch.randn(out_dimensions))


class NormalBiasScaledDown(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(0.95 * torch.randn(out_dimensions))


class NormalBiasUniform(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions))
        self.bias = nn.Parameter((torch.rand(out_dimensions) * 2 - 1) * math.sqrt(3))


class NormalSeeded(NormalRandn):
    """Resets the seed in __init__: every layer the same."""

    def __init__(self, in_dimensions, out_dimensions):
        torch.manual_seed(0)
        super().__init__(in_dimensions, out_dimensions)


class NormalRepeatedColumns(ZerosAt):
    """One random column copied to every unit."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, 1).repeat(1, out_dimensions))
        self.bias = nn.Parameter(torch.randn(out_dimensions))


class NormalRand(ZerosAt):
    """torch.rand: uniform on [0, 1)."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.rand(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.rand(out_dimensions))


class NormalNumpy(ZerosAt):
    """np.random.randn: float64 parameters."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.from_numpy(np.random.randn(in_dimensions,
                                                                     out_dimensions)))
        self.bias = nn.Parameter(torch.from_numpy(np.random.randn(out_dimensions)))


class NormalKaimingScaled(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions)
                                    / math.sqrt(in_dimensions))
        self.bias = nn.Parameter(torch.randn(out_dimensions))


class NormalShifted(NormalRandn):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        with torch.no_grad():
            self.weights.add_(0.05)


NORMAL_WRONG = [
    (NormalZeroBias, "bias random"),
    (NormalUniform, "weight distribution"),
    (NormalScaled, "weight std"),
    (NormalScaledDown, "weight std"),
    (NormalBiasScaled, "bias std"),
    (NormalBiasScaledDown, "bias std"),
    (NormalBiasUniform, "bias distribution"),
    (NormalSeeded, "instances identical"),
    (NormalRepeatedColumns, "weights independent"),
    (NormalRand, "weight std"),
    (NormalNumpy, "parameter dtype"),
    (NormalKaimingScaled, "weight std"),
    (NormalShifted, "weight mean"),
    (ZerosAt, "bias random"),
    (ZerosNoBias, "bias random"),
]


# ----------------------------------------------------------------------------- kaiming: correct

class KaimingDivide(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions)
                                    / math.sqrt(in_dimensions))


class KaimingInitNormal(ZerosMatmul):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        nn.init.normal_(self.weights, 0.0, 1 / in_dimensions ** 0.5)


class KaimingTorchNormal(ZerosInitLinear):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        std = 1.0 / np.sqrt(in_dimensions)
        self.weights = nn.Parameter(torch.normal(0.0, std, size=(in_dimensions, out_dimensions)))


class KaimingVariance(ZerosRegisterAddmm):
    """Scales by sqrt(variance) with variance = 1/d."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        variance = 1.0 / in_dimensions
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions)
                                    * math.sqrt(variance))


class KaimingTorchInit(ZerosEinsum):
    """torch's kaiming_normal_: on an (in, out) tensor its fan_out is `in`; linear gain 1."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        nn.init.kaiming_normal_(self.weights, mode="fan_out", nonlinearity="linear")


KAIMING_CORRECT = [KaimingDivide, KaimingInitNormal, KaimingTorchNormal, KaimingVariance,
                   KaimingTorchInit]


# ----------------------------------------------------------------------------- kaiming: wrong

def _kaiming_with_std(std_of, name):
    class Wrong(ZerosAt):
        def __init__(self, in_dimensions, out_dimensions):
            super().__init__(in_dimensions, out_dimensions)
            std = std_of(in_dimensions, out_dimensions)
            self.weights = nn.Parameter(std * torch.randn(in_dimensions, out_dimensions))
    Wrong.__name__ = Wrong.__qualname__ = name
    return Wrong


KaimingHe = _kaiming_with_std(lambda d, e: math.sqrt(2.0 / d), "KaimingHe")
KaimingFanOut = _kaiming_with_std(lambda d, e: 1.0 / math.sqrt(e), "KaimingFanOut")
KaimingVarianceAsStd = _kaiming_with_std(lambda d, e: 1.0 / d, "KaimingVarianceAsStd")
KaimingThreePercentHigh = _kaiming_with_std(lambda d, e: 1.03 / math.sqrt(d),
                                            "KaimingThreePercentHigh")
KaimingThreePercentLow = _kaiming_with_std(lambda d, e: 0.97 / math.sqrt(d),
                                           "KaimingThreePercentLow")
KaimingUnscaled = _kaiming_with_std(lambda d, e: 1.0, "KaimingUnscaled")


class KaimingUniform(ZerosAt):
    """Uniform with the right variance 1/d: U(-sqrt(3/d), sqrt(3/d))."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        bound = math.sqrt(3.0 / in_dimensions)
        self.weights = nn.Parameter(torch.empty(in_dimensions, out_dimensions)
                                    .uniform_(-bound, bound))


class KaimingTorchDefault(ZerosAt):
    """torch's kaiming_normal_ with its defaults on an (in, out) tensor: sqrt(2 / out)."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        nn.init.kaiming_normal_(self.weights)


class KaimingRandomBias(KaimingDivide):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.bias = nn.Parameter(torch.randn(out_dimensions))


class KaimingSeeded(KaimingDivide):
    def __init__(self, in_dimensions, out_dimensions):
        torch.manual_seed(1234)
        super().__init__(in_dimensions, out_dimensions)


KAIMING_WRONG = [
    (KaimingHe, "weight std"),
    (KaimingFanOut, "weight std"),
    (KaimingVarianceAsStd, "weight std"),
    (KaimingThreePercentHigh, "weight std"),
    (KaimingThreePercentLow, "weight std"),
    (KaimingUnscaled, "weight std"),
    (KaimingUniform, "weight distribution"),
    (KaimingTorchDefault, "weight std"),
    (KaimingRandomBias, "bias zero"),
    (KaimingSeeded, "instances identical"),
    (NormalRepeatedColumns, "weights independent"),
    (ZerosTransposed, "weights shape"),
]


class NormalExpandedBias(NormalRandn):
    """One random number copied into every bias entry."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.bias = nn.Parameter(torch.randn(1).repeat(out_dimensions))


NORMAL_WRONG.append((NormalExpandedBias, "bias independent"))
