"""Small statistics the dashboard needs without scipy: the t critical value and a mean's 95% interval."""

from __future__ import annotations

import math

# Two-sided 95% critical values of Student's t (the 0.975 quantile) for 1..30 degrees of freedom.
T_975 = (
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
    2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
    2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
)

Z_975 = 1.959963984540054  # the normal distribution's 0.975 quantile


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom (the 95% two-sided critical value).

    Exact (to six decimals) from the table for df 1-30; beyond, the Cornish-Fisher expansion around
    the normal quantile, which is within 1e-6 of the exact value there.
    """
    if df < 1:
        raise ValueError("a t quantile needs at least 1 degree of freedom")
    if df <= len(T_975):
        return T_975[df - 1]
    z = Z_975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def mean_interval(mean: float, sd: float, n: int) -> tuple[float, float] | None:
    """The 95% t interval (low, high) of a mean from its sample sd and n; None when n < 2."""
    if n < 2:
        return None
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half
