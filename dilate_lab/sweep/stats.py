"""The tests a reproduction is judged by: Welch's t-test against a reported mean ± std, and a
paired t-test between two losses trained on the same seeds. Plain Python, no SciPy needed.

The t distribution's tail is the regularised incomplete beta function,
P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t²), evaluated by its continued fraction
(Numerical Recipes, 3rd ed., section 6.4, modified Lentz's method).
"""

import math

ALPHA = 0.05  # the significance level of every test here (the paper's t-test, too)
_TINY = 1e-300  # keeps the continued fraction's denominators away from zero


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (numpy's default, as the reproduction tables use)."""
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), converging for x < (a + 1) / (a + b + 2)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),  # the even step d_{2m}
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),  # the odd step d_{2m+1}
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b  # the symmetry I_x(a,b) = 1 - I_1-x(b,a)


def t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with df (> 0, not necessarily whole) degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def welch(ours: tuple[float, float, int], reported: tuple[float, float, int]) -> float:
    """Welch's two-sided t-test: the p-value of 'same mean' for two samples given as
    (mean, population std, size), each size >= 2; the variances are made unbiased (n / (n - 1)).
    Two samples without spread give 1 if their means are equal, else 0."""
    (m1, s1, n1), (m2, s2, n2) = ours, reported
    v1, v2 = s1 * s1 / (n1 - 1), s2 * s2 / (n2 - 1)  # each mean's variance: std² n / (n - 1) / n
    if v1 + v2 == 0.0:
        return 1.0 if m1 == m2 else 0.0
    t = (m1 - m2) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))  # Welch-Satterthwaite
    return t_two_sided(t, df)


def paired(differences: list[float]) -> float:
    """The paired t-test's two-sided p-value of 'no difference', from each pair's difference
    (at least 2). Differences all equal give 0 if they are not zero, else 1."""
    n = len(differences)
    mean, std = mean_std(differences)
    if std == 0.0:
        return 1.0 if mean == 0.0 else 0.0
    return t_two_sided(mean / (std / math.sqrt(n - 1)), n - 1)  # sample std / sqrt(n) = pop. std / sqrt(n - 1)


def t_quantile(level: float, df: float) -> float:
    """The t such that P(|T| <= t) = level for Student's t with df degrees of freedom (the two-sided
    interval's half-width in standard errors), by bisection on `t_two_sided`: it falls as t grows."""
    low, high = 0.0, 1.0
    while t_two_sided(high, df) > 1.0 - level:  # widen until the tail is thin enough
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        low, high = (middle, high) if t_two_sided(middle, df) > 1.0 - level else (low, middle)
        if high - low < 1e-12 * high:
            break
    return (low + high) / 2.0


def paired_interval(differences: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of paired differences (at least 2) and its two-sided t interval."""
    n = len(differences)
    mean, std = mean_std(differences)
    half = t_quantile(level, n - 1) * std / math.sqrt(n - 1)  # sample std / sqrt(n) = pop. std / sqrt(n - 1)
    return mean, mean - half, mean + half


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the k-th smallest of m is multiplied
    by m - k + 1 (k from 1), made non-decreasing along that order and capped at 1."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def wilcoxon(differences: list[float]) -> float:
    """The Wilcoxon signed-rank test's exact two-sided p-value of 'no difference' (zeros dropped,
    tied magnitudes given their mean rank): the share of the 2^n sign patterns whose positive rank
    sum lies at least as far from its mean as the one observed. 1 when every difference is zero."""
    values = [d for d in differences if d != 0.0]
    n = len(values)
    if n == 0:
        return 1.0
    magnitudes = sorted(abs(v) for v in values)
    doubled = {}  # |d| -> twice its mean rank: whole numbers, so the counts below stay exact
    for magnitude in set(magnitudes):
        first = magnitudes.index(magnitude) + 1
        last = first + magnitudes.count(magnitude) - 1
        doubled[magnitude] = first + last
    ranks = [doubled[abs(v)] for v in values]
    observed = sum(rank for rank, v in zip(ranks, values, strict=True) if v > 0)
    counts = {0: 1}  # doubled positive rank sum -> sign patterns that give it
    for rank in ranks:
        grown = dict(counts)
        for total, count in counts.items():
            grown[total + rank] = grown.get(total + rank, 0) + count
        counts = grown
    centre = sum(ranks) / 2.0
    far = sum(count for total, count in counts.items() if abs(total - centre) >= abs(observed - centre) - 1e-9)
    return min(1.0, far / 2.0**n)
