"""Tail bounds the checkers use to test random properties at a fixed false-reject rate.

Every random property a checker tests (a mean, a variance, the shape of a distribution,
a frequency) is accepted inside an interval whose probability of rejecting a *correct*
implementation is at most ``alpha``.  A check that runs ``m`` such tests gives each
``alpha = FALSE_REJECT / m`` (Bonferroni), so the whole check rejects correct code with
probability below ``FALSE_REJECT``.

The intervals come from exact results or from bounds that hold for every sample size,
never from a normal approximation of something that is not normal:

* :func:`mean_bound`: a mean of ``n`` iid N(mu, s^2) draws is exactly N(mu, s^2 / n);
* :func:`variance_interval`: a sum S of ``n`` squared N(0, s^2) draws is s^2 times a
  chi-square(n), and (Chernoff) P(S / (n s^2) >= r) <= exp(-n (r - 1 - ln r) / 2) for r > 1,
  the same below 1;
* :func:`dkw_epsilon`: the empirical CDF F_n of ``n`` iid draws from F has
  P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2) (Dvoretzky-Kiefer-Wolfowitz, Massart's constant);
* :func:`binomial_interval`: a Binomial(n, p) frequency q has
  P(q >= p + t) <= exp(-n KL(p + t || p)) (Chernoff-Hoeffding), the same below.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np

FALSE_REJECT = 1e-9  # the most a check may reject a correct implementation, all tests together


def z_threshold(alpha: float) -> float:
    """|z| above which a N(0, 1) statistic is rejected, two-sided at level ``alpha``.

    ``z_threshold(1e-9)`` is 6.11: a correct answer lands beyond it once in 10^9 runs.
    """
    return -NormalDist().inv_cdf(alpha / 2.0)  # the lower tail keeps full precision


def two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for Z ~ N(0, 1)."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def normal_cdf(x):
    """Phi(x), the N(0, 1) CDF, elementwise for a float or a numpy array."""
    erf = np.vectorize(math.erf, otypes=[float])
    return 0.5 * (1.0 + erf(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def mean_bound(n: int, std: float, alpha: float) -> float:
    """Largest |sample mean - mu| accepted for ``n`` iid N(mu, std^2) draws (exact)."""
    return z_threshold(alpha) * std / math.sqrt(n)


def _solve(f, lo: float, hi: float, target: float) -> float:
    """x in [lo, hi] with f(x) = target, for f monotone on [lo, hi] (bisection)."""
    f_lo = f(lo) - target
    while hi - lo > 1e-12 * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        if (f(mid) - target > 0) == (f_lo > 0):
            lo, f_lo = mid, f(mid) - target
        else:
            hi = mid
    return 0.5 * (lo + hi)


@lru_cache(maxsize=1024)  # the same few (n, alpha) for every student: solved once each
def variance_interval(n: int, alpha: float) -> tuple[float, float]:
    """Accepted range of (mean of squares) / sigma^2 for ``n`` iid N(0, sigma^2) draws.

    The mean of squares is sigma^2 chi2(n) / n.  Chernoff: each tail beyond ratio r has
    probability at most exp(-n (r - 1 - ln r) / 2); both ends are set to alpha / 2.
    Example: n = 100_000, alpha = 1e-9 / 3 gives about [0.970, 1.030]: a standard deviation
    1.5 % off is at the edge, 3 % off is rejected every time.
    """
    rate = 2.0 * math.log(2.0 / alpha) / n

    def g(r):
        return r - 1.0 - math.log(r)

    upper = 1.0
    while g(upper) < rate:
        upper *= 2.0
    return _solve(g, 1e-300, 1.0, rate), _solve(g, 1.0, upper, rate)


def dkw_epsilon(n: int, alpha: float) -> float:
    """Largest sup |F_n - F| accepted for ``n`` iid draws from F (DKW, any n, any F)."""
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


def ks_normal(values: np.ndarray, std: float, grid=None) -> float:
    """max over ``grid`` of |F_n(t) - Phi(t / std)|: at most the KS distance to N(0, std^2).

    A maximum over fewer points is never larger than the supremum, so a DKW threshold keeps
    its false-reject guarantee.  The default grid (-3 ... 3 standard deviations, step 0.1)
    sees every distribution shape error worth catching (a uniform with the right variance
    is 0.057 away).
    """
    z = np.sort(np.asarray(values, dtype=float).ravel()) / std
    if grid is None:
        grid = np.linspace(-3.0, 3.0, 61)
    empirical = np.searchsorted(z, grid, side="right") / z.size
    return float(np.max(np.abs(empirical - normal_cdf(grid))))


def _kl(q: float, p: float) -> float:
    """KL(Bernoulli(q) || Bernoulli(p)), with 0 log 0 = 0."""
    out = 0.0
    if q > 0:
        out += q * math.log(q / p)
    if q < 1:
        out += (1 - q) * math.log((1 - q) / (1 - p))
    return out


@lru_cache(maxsize=1024)  # the same few (n, p, alpha) for every student: solved once each
def binomial_interval(n: int, p: float, alpha: float) -> tuple[float, float]:
    """Accepted range of the frequency of a Binomial(n, p) count (0 < p < 1).

    Chernoff-Hoeffding: each tail beyond frequency q has probability at most
    exp(-n KL(q || p)); both ends are set to alpha / 2.  Example: n = 60_000, p = 0.7,
    alpha = 1e-10 gives about [0.687, 0.713].
    """
    rate = math.log(2.0 / alpha) / n
    lo = 0.0 if _kl(0.0, p) <= rate else _solve(lambda q: _kl(q, p), 0.0, p, rate)
    hi = 1.0 if _kl(1.0, p) <= rate else _solve(lambda q: _kl(q, p), p, 1.0, rate)
    return lo, hi


def inside(value: float, interval: tuple[float, float]) -> bool:
    """lo <= value <= hi; False for NaN (a NaN statistic always fails)."""
    return bool(interval[0] <= value <= interval[1])
