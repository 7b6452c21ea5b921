"""A run's per-series test scores, and when a series' TDI says something about timing.

TDI sums the squared lag along the optimal DTW path. It reads as timing only where there is
something to time: a target with a step (or other change) inside the forecast window, and a
forecast that follows it. Elsewhere the path is the diagonal by ties and TDI is 0 whatever the
forecast: a flat target (the synthetic step came inside the input), a flat forecast, or a forecast
so far from its target that every cell of the cost matrix is expensive and the shortest path, the
diagonal, is the cheapest. These functions say which series are which.
"""

import numpy as np

from dilate_core import metrics

STEP_MIN_HEIGHT = 0.1  # a synthetic step lower than this (its series are on a unit scale) is noise-like
MOVE_FRACTION = 0.1  # a target moving less than this fraction of the typical target's std is flat


def per_series_scores(predictions: dict, target) -> dict[str, dict]:
    """loss -> {'mse', 'dtw', 'tdi', 'flatness'} of (n,) arrays and 'pooled' (the model's
    `metrics.pooled_flatness`), for forecasts {loss: (n, n_output, d)} of targets (n, n_output, d)."""
    return {
        name: metrics.per_series(pred, target)
        | {"flatness": metrics.flatness(pred, target), "pooled": metrics.pooled_flatness(pred, target)}
        for name, pred in predictions.items()
    }


def timed_series(dataset) -> np.ndarray:
    """(n_test,) bools: which test series have a change to time inside their forecast window.

    Synthetic steps: the breakpoint falls after the window's first step (a step at its first step,
    or in the input, leaves the window flat) and the step is at least STEP_MIN_HEIGHT high. Other
    data (no breakpoints): the target moves over the window at least MOVE_FRACTION as much as the
    median test target does.
    """
    y = np.asarray(dataset.test_y, dtype=np.float64)[:, :, 0]  # (n, n_output), first feature
    n, n_output = y.shape
    if dataset.test_breaks is not None:
        offset = np.asarray(dataset.test_breaks) - dataset.n_input  # the step's index in the window
        inside = (offset >= 1) & (offset < n_output)
        at = np.clip(offset, 1, n_output - 1)
        height = np.abs(y[np.arange(n), at] - y[np.arange(n), at - 1])
        return inside & (height >= STEP_MIN_HEIGHT)
    spread = y.std(axis=1)
    return spread >= MOVE_FRACTION * np.median(spread)


def diagonal_by_ties(forecast, target, tdi: float) -> bool:
    """Whether a forecast's TDI of 0 comes from being far from its target everywhere: its MSE is
    above the target's own variance (a constant at the target's mean would do better), so every
    path is expensive and the diagonal, the shortest, wins. forecast, target: (n_output, d)."""
    f = np.asarray(forecast, dtype=np.float64).reshape(len(forecast), -1)[:, 0]
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)[:, 0]
    return tdi == 0 and len(f) == len(t) and float(np.mean((f - t) ** 2)) > float(t.var())


def tdi_reading(forecast, target, tdi: float, timed: bool) -> str | None:
    """One sentence on why a forecast's TDI says nothing of its timing, or None where it does."""
    if not timed:
        return (
            "The target has no step inside the forecast window: there is no timing to get right, and "
            "TDI is near 0 for any forecast that stays level."
        )
    if metrics.is_flat(np.asarray(forecast)[None], np.asarray(target)[None])[0]:
        return (
            "This forecast is flat: the DTW path through it is set by ties and tiny wiggles, so its TDI says "
            "nothing of timing."
        )
    if diagonal_by_ties(forecast, target, tdi):
        return (
            "TDI 0 by ties: this forecast is far from the target everywhere (its MSE is above the target's own "
            "variance), so every alignment costs about the same and the shortest, the diagonal, wins. It is not "
            "on time."
        )
    return None


def tdi_zero_share(scores: dict[str, dict]) -> dict[str, float]:
    """loss -> the share of its series whose TDI is exactly 0 (their path is the diagonal)."""
    return {name: float(np.mean(values["tdi"] == 0)) for name, values in scores.items()}
