"""Dropout modules as students write them: correct variants and the usual mistakes."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Base(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.training:
            return x * self.mask(x)
        return x * (1 - self.rate)


# ----------------------------------------------------------------------------- correct

class RandLike(Base):
    """(rand_like > rate) as a float mask."""

    def mask(self, x):
        return (torch.rand_like(x) > self.rate).float()


class Bernoulli(Base):
    def mask(self, x):
        return torch.bernoulli(torch.full_like(x, 1 - self.rate))


class Where(nn.Module):
    """torch.where with rand(x.shape, device=...), eval scaling via mul."""

    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training:
            return torch.mul(x, 1.0 - self.rate)
        drop = torch.rand(x.shape, device=x.device) < self.rate
        return torch.where(drop, torch.zeros_like(x), x)


class TorchDropoutRescaled(nn.Module):
    """torch's dropout, its 1/(1-p) scaling undone in both modes."""

    def __init__(self, rate=0.01):
        super().__init__()
        self.r = rate

    def forward(self, x):
        return F.dropout(x, self.r, self.training) * (1 - self.r)


class MaskedFill(Base):
    def forward(self, x):
        if self.training:
            return x.masked_fill(torch.rand_like(x) < self.rate, 0.0)
        return (1 - self.rate) * x


class BernoulliInPlaceMask(Base):
    """empty_like(x).bernoulli_(p): the in-place op is on the new mask, not on x."""

    def mask(self, x):
        return torch.empty_like(x).bernoulli_(1 - self.rate)


class NumpyMaskConverted(Base):
    """A numpy mask, converted to x's dtype and device."""

    def mask(self, x):
        keep = np.random.binomial(1, 1 - self.rate, size=tuple(x.shape))
        return torch.from_numpy(keep).to(x)


class BoolMultiply(Base):
    def mask(self, x):
        return torch.rand(*x.shape, device=x.device) >= self.rate


CORRECT = [RandLike, Bernoulli, Where, TorchDropoutRescaled, MaskedFill, BernoulliInPlaceMask,
           NumpyMaskConverted, BoolMultiply]


# ----------------------------------------------------------------------------- wrong

class Inverted(Base):
    """Inverted dropout: kept entries divided by (1 - rate)."""

    def forward(self, x):
        if self.training:
            return x * (torch.rand_like(x) > self.rate).float() / (1 - self.rate)
        return x


class TorchDropout(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        return F.dropout(x, self.rate, self.training)


class TorchDropoutDefaults(TorchDropout):
    """F.dropout's training=True default: drops and rescales in eval mode too."""

    def forward(self, x):
        return F.dropout(x, self.rate)


class OneMaskPerBatch(Base):
    def mask(self, x):
        return (torch.rand(1, x.shape[1], device=x.device) > self.rate).float()


class OneMaskPerRow(Base):
    def mask(self, x):
        return (torch.rand(x.shape[0], 1, device=x.device) > self.rate).float()


class ReusedMask(Base):
    """Draws a mask at the first call and keeps it."""

    def mask(self, x):
        cached = getattr(self, "_mask", None)
        if cached is None or cached.shape != x.shape:
            cached = self._mask = (torch.rand_like(x) > self.rate).float()
        return cached


class Swapped(Base):
    """Keeps an entry with probability rate."""

    def mask(self, x):
        return (torch.rand_like(x) < self.rate).float()


class HardCodedRate(Base):
    def mask(self, x):
        return (torch.rand_like(x) > 0.01).float()


class WrongDefault(RandLike):
    def __init__(self, rate=0.1):
        super().__init__(rate)


class InPlace(Base):
    def forward(self, x):
        if self.training:
            x[torch.rand_like(x) < self.rate] = 0
            return x
        return x * (1 - self.rate)


class ReturnsMask(Base):
    def forward(self, x):
        mask = (torch.rand_like(x) > self.rate).float()
        if self.training:
            return x * mask, mask
        return x * (1 - self.rate)


class NoEvalScaling(Base):
    def forward(self, x):
        if self.training:
            return x * (torch.rand_like(x) > self.rate).float()
        return x


class DropsInEval(Base):
    def forward(self, x):
        return x * (torch.rand_like(x) > self.rate).float()


class EvalDivides(Base):
    def forward(self, x):
        if self.training:
            return x * (torch.rand_like(x) > self.rate).float()
        return x / (1 - self.rate)


class NumpyMaskFloat64(Base):
    def mask(self, x):
        return torch.from_numpy(np.random.binomial(1, 1 - self.rate, size=tuple(x.shape))
                                .astype(np.float64))


class Detached(RandLike):
    def forward(self, x):
        return super().forward(x).detach()


class RateAsKeep(Base):
    """Reads rate as the keep probability in both modes."""

    def forward(self, x):
        if self.training:
            return x * (torch.rand_like(x) < self.rate).float()
        return x * self.rate


class PairedRows(Base):
    """Rows drawn in pairs: rows 2i and 2i+1 share a mask (not the whole batch)."""

    def mask(self, x):
        rows = (x.shape[0] + 1) // 2
        keep = (torch.rand(rows, *x.shape[1:], device=x.device) > self.rate).float()
        return keep.repeat_interleave(2, dim=0)[:x.shape[0]]


class PairedColumns(Base):
    def mask(self, x):
        columns = (x.shape[1] + 1) // 2
        keep = (torch.rand(x.shape[0], columns, device=x.device) > self.rate).float()
        return keep.repeat_interleave(2, dim=1)[:, :x.shape[1]]


class ReusedHalf(Base):
    """Redraws only the first half of the rows at each call."""

    def mask(self, x):
        fresh = (torch.rand_like(x) > self.rate).float()
        cached = getattr(self, "_mask", None)
        if cached is not None and cached.shape == x.shape:
            half = x.shape[0] // 2
            fresh[half:] = cached[half:]
        self._mask = fresh
        return fresh


WRONG = [
    (Inverted, "training scaling"),
    (TorchDropout, "training scaling"),
    (TorchDropoutDefaults, "training scaling"),
    (OneMaskPerBatch, "independence across rows"),
    (OneMaskPerRow, "independence across columns"),
    (ReusedMask, "fresh mask each call"),
    (Swapped, "keep fraction"),
    (HardCodedRate, "keep fraction"),
    (WrongDefault, "default rate"),
    (InPlace, "input modified in place"),
    (ReturnsMask, "return type"),
    (NoEvalScaling, "eval output"),
    (DropsInEval, "eval output"),
    (EvalDivides, "eval output"),
    (NumpyMaskFloat64, "output dtype"),
    (Detached, "output differentiable"),
    (RateAsKeep, "keep fraction"),
    (PairedRows, "independence across rows"),
    (PairedColumns, "independence across columns"),
    (ReusedHalf, "fresh mask each call"),
]

HINTS = {Inverted: "inverted dropout", Swapped: "probability of dropping",
         HardCodedRate: "not used", NoEvalScaling: "unscaled", DropsInEval: "self.training"}

# Partial credit (test_dropout declares training mode 0.5, evaluation mode 0.3, autograd
# 0.2): a wrong module -> (the share of the points it earns, the properties that hold), on
# every seed.  One module per share that a realistic mistake earns.
PARTIAL = {
    Detached: (0.8, ("training mode", "evaluation mode")),
    NoEvalScaling: (0.7, ("training mode", "autograd")),
    OneMaskPerBatch: (0.5, ("evaluation mode", "autograd")),
    InPlace: (0.3, ("evaluation mode",)),
    WrongDefault: (0.2, ("autograd",)),
    Inverted: (0.0, ()),  # training scaling, eval output and gradient all wrong
}
