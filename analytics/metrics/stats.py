"""Small statistics the metrics share, from scipy.stats: the t and normal critical values and a mean's 95% interval."""

from __future__ import annotations

import math
from functools import cache

from scipy import stats

Z_975 = float(stats.norm.ppf(0.975))  # the normal distribution's 0.975 quantile, 1.959964


@cache  # a caseload's trends ask for the same few degrees of freedom thousands of times
def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom (the 95% two-sided critical value)."""
    if df < 1:
        raise ValueError("a t quantile needs at least 1 degree of freedom")
    return float(stats.t.ppf(0.975, df))


def mean_interval(mean: float, sd: float, n: int) -> tuple[float, float] | None:
    """The 95% t interval (low, high) of a mean from its sample sd and n; None when n < 2."""
    if n < 2:
        return None
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half
