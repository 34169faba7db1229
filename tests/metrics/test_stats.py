"""The t critical value and the mean's interval, against published t tables."""

from __future__ import annotations

import math

import pytest

from analytics.metrics.stats import mean_interval, t_quantile_975


@pytest.mark.parametrize(
    ("df", "expected"),
    # Two-sided 95% critical values from any t table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
    [(1, 12.706), (2, 4.303), (3, 3.182), (10, 2.228), (29, 2.045), (30, 2.042), (31, 2.040), (40, 2.021),
     (60, 2.000), (100, 1.984), (120, 1.980)],
)
def test_t_quantile_matches_the_table_to_three_decimals(df, expected):
    assert t_quantile_975(df) == pytest.approx(expected, abs=5e-4)


def test_t_quantile_falls_smoothly_past_the_table_towards_the_normal_value():
    values = [t_quantile_975(df) for df in range(1, 400)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))  # no jump where the table ends
    assert t_quantile_975(100_000) == pytest.approx(1.95996, abs=1e-4)


def test_t_quantile_needs_a_degree_of_freedom():
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_mean_interval_by_hand():
    # mean 2, sd 1, n 3: half-width = t(2) * 1 / sqrt(3) = 4.3027 / 1.7321 = 2.4841.
    low, high = mean_interval(2.0, 1.0, 3)
    assert (low, high) == pytest.approx((2 - 2.4841, 2 + 2.4841), abs=1e-3)
    # mean 5, sd 2, n 10: half-width = 2.2622 * 2 / 3.1623 = 1.4307.
    assert mean_interval(5.0, 2.0, 10) == pytest.approx((3.5693, 6.4307), abs=1e-3)


@pytest.mark.parametrize("n", [0, 1])
def test_mean_interval_needs_two_values(n):
    assert mean_interval(3.0, math.nan, n) is None
