"""The paper's evaluation metrics on batches of forecasts: MSE, exact DTW and TDI (its Table 1),
and the ramp score and the Hausdorff distance between change points (its Table 2).

DTW is the exact dynamic-time-warping distance as tslearn's `dtw_path` reports it, the square
root of the summed squared costs along the optimal path; TDI (temporal distortion index) is
the sum over that path of (i - j)^2, divided by N M (N^2 for the paper's equal lengths).
"""

from dataclasses import dataclass

import numpy as np
import torch

from dilate_core import _kernels, _scratch
from dilate_core._backends import KERNEL_LOCK
from dilate_core._validate import check_series_pair
from dilate_core.losses import cost_matrix, soft_alignment


@dataclass
class DTWResult:
    """Exact DTW of a batch: `cost` (B,) summed squared costs along the optimal path (not rooted),
    `paths` a list of B int arrays of shape (L_b, 2), the (i, j) pairs from (0, 0) to (N-1, M-1)."""

    cost: np.ndarray
    paths: list[np.ndarray]


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)


def dtw(D) -> DTWResult:
    """Exact DTW on a batch of cost matrices D (B, N, M), with the optimal paths.

    Examples
    --------
    >>> result = dtw(np.array([[[0.0, 1.0], [1.0, 0.0]]]))
    >>> result.cost, result.paths[0].tolist()
    (array([0.]), [[0, 0], [1, 1]])
    """
    D64 = np.ascontiguousarray(_as_tensor(D).detach().to("cpu", torch.float64).numpy())
    B, N, M = D64.shape
    work = _scratch.Lease((B, N + 1, M + 1), ((B, N + M - 1, 2), np.int64), ((B,), np.int64))
    C, paths, lengths = work.arrays
    with KERNEL_LOCK:
        _kernels.dtw_paths(D64, C, paths, lengths)
    return DTWResult(cost=C[:, N, M].copy(), paths=[paths[b, : lengths[b]].copy() for b in range(B)])


def per_series(pred, target) -> dict[str, np.ndarray]:
    """MSE, DTW and TDI of each series of a batch.

    pred : (B, M, d), target : (B, N, d), tensors or arrays. Returns a dict of (B,) float64
    arrays: 'mse' (mean over points; needs N = M), 'dtw' (sqrt of the DTW cost), 'tdi'.
    """
    return per_series_with_paths(pred, target)[0]


def per_series_with_paths(pred, target) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """`per_series` and the optimal DTW paths it scored, (L_b, 2) (i, j) pairs per series."""
    pred, target = _as_tensor(pred).detach().cpu().double(), _as_tensor(target).detach().cpu().double()
    check_series_pair(pred, target)
    N, M = target.shape[1], pred.shape[1]
    result = dtw(cost_matrix(target, pred))  # (B, N, M) costs
    tdi = np.array([((path[:, 0] - path[:, 1]) ** 2).sum() / (N * M) for path in result.paths])
    mse = ((pred - target) ** 2).mean(dim=(1, 2)).numpy() if N == M else np.full(len(tdi), np.nan)
    return {"mse": mse, "dtw": np.sqrt(result.cost), "tdi": tdi}, result.paths


def evaluate(pred, target) -> dict[str, float]:
    """Mean MSE, DTW and TDI over a batch, as the DILATE paper reports them (before its x100, x10).

    pred, target : (B, N, d) tensors or arrays. Returns {'mse', 'dtw', 'tdi'} as floats.

    References
    ----------
    Le Guen & Thome, NeurIPS 2019 (section 4); DTW as tslearn's `dtw_path` reports it.

    Examples
    --------
    >>> target = np.array([[[0.0], [0.0], [1.0], [1.0]]])
    >>> late = np.array([[[0.0], [0.0], [0.0], [1.0]]])
    >>> evaluate(late, target)  # the right shape (DTW 0), one step late (TDI > 0)
    {'mse': 0.25, 'dtw': 0.0, 'tdi': 0.1875}
    """
    return {name: float(values.mean()) for name, values in per_series(pred, target).items()}


def alignment_views(target, forecast, gamma: float) -> dict:
    """Everything the app draws about one forecast's alignment with its target.

    target : (N, d), forecast : (M, d), arrays or tensors. Returns 'D' (N, M) squared costs,
    'path' (L, 2) the optimal DTW path, 'E' (N, M) the soft alignment at `gamma`, and 'scores'
    {'mse', 'dtw', 'tdi'} of the forecast, as floats.
    """
    t = torch.tensor(np.asarray(target, dtype=np.float64))[None]  # copies: the caller's arrays may be read-only
    p = torch.tensor(np.asarray(forecast, dtype=np.float64))[None]
    D = cost_matrix(t, p)  # (1, N, M)
    scores, paths = per_series_with_paths(p, t)
    return {
        "D": D[0].numpy(),
        "path": paths[0],
        "E": soft_alignment(D, gamma)[0].numpy(),
        "scores": {name: float(values[0]) for name, values in scores.items()},
    }


FLAT_FRACTION = 0.2  # a forecast moving less than this fraction of its target's movement is "flat"


def flatness(pred, target) -> np.ndarray:
    """How much each forecast moves, relative to its target: std over time of the forecast
    divided by the target's, (B,). pred : (B, M, d), target : (B, N, d); first feature only.

    Near 0 for a flat forecast, near 1 for one that moves as much as its target. A target that
    does not move at all (std 0) gives inf for any forecast that moves and 1 for one that does not.
    """
    p = np.asarray(pred, dtype=np.float64).reshape(len(pred), np.shape(pred)[1], -1)[:, :, 0]
    t = np.asarray(target, dtype=np.float64).reshape(len(target), np.shape(target)[1], -1)[:, :, 0]
    spread_p, spread_t = p.std(axis=1), t.std(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = spread_p / spread_t
    return np.where(spread_t > 0, ratio, np.where(spread_p > 0, np.inf, 1.0))


def is_flat(pred, target, fraction: float = FLAT_FRACTION) -> np.ndarray:
    """Whether each forecast (B, M, d) is flat: its std over time is below `fraction` of its
    target's (B, N, d), (B,) bools. TDI says nothing of a flat forecast's timing: the DTW path
    through a constant series is any path of equal cost, ties fall near the diagonal (TDI near 0
    at any level), and through a nearly constant one tiny wiggles decide it.

    Examples
    --------
    >>> target = np.array([[[0.0], [0.0], [1.0], [1.0]]])
    >>> is_flat(np.full((1, 4, 1), 0.5), target), is_flat(target * 0.9, target)
    (array([ True]), array([False]))
    """
    return flatness(pred, target) < fraction


def pooled_flatness(pred, target) -> float:
    """How much a model's forecasts move over a batch, relative to their targets: the mean over
    series of the forecasts' std over time divided by the targets' mean (first feature). Unlike a
    share of `is_flat` series, targets that hardly move (a step inside the input window) weigh
    little. Below FLAT_FRACTION the model's forecasts are flat: its TDI says nothing of timing.
    pred : (B, M, d), target : (B, N, d)."""
    p = np.asarray(pred, dtype=np.float64).reshape(len(pred), np.shape(pred)[1], -1)[:, :, 0]
    t = np.asarray(target, dtype=np.float64).reshape(len(target), np.shape(target)[1], -1)[:, :, 0]
    spread_p, spread_t = p.std(axis=1).mean(), t.std(axis=1).mean()
    if spread_t == 0:  # as `flatness`: a constant batch of targets
        return float("inf") if spread_p > 0 else 1.0
    return float(spread_p / spread_t)


# Table 2's parameters (the paper's supplementary, which gives its own, is not shipped): chosen for
# series on a unit scale (the synthetic steps, z-normalised ECG5000, ETTh1 scaled on train).
RAMP_EPSILON = 0.1  # swinging-door half-width: above the synthetic noise, below its steps
CHANGE_PENALTY = 0.1  # ruptures' penalty per change point, on the summed squared deviations (L2)
CHANGE_MIN_SIZE = 2  # steps between change points


def swinging_door(series, epsilon: float = RAMP_EPSILON) -> np.ndarray:
    """The swinging-door approximation of each series (B, N) or (B, N, 1): its values (B, N) on
    the piecewise-linear line through the points the compression keeps (Bristol 1990)."""
    Y = np.ascontiguousarray(np.asarray(series, dtype=np.float64).reshape(len(series), -1))
    kept = np.empty(Y.shape, dtype=np.bool_)
    _kernels.swinging_door(Y, float(epsilon), kept)
    steps = np.arange(Y.shape[1])
    return np.stack([np.interp(steps, steps[k], y[k]) for y, k in zip(Y, kept, strict=True)])


def ramp_score(pred, target, epsilon: float = RAMP_EPSILON) -> np.ndarray:
    """Ramp score of each series (Vallance, Charbonnier, Kariniotakis et al. 2017), (B,).

    (1 / (N - 1)) integral over time of |SD'_target(t) - SD'_pred(t)|, SD the swinging-door
    approximation with half-width epsilon: how far the forecast's ramps (rises and falls, their
    timing and steepness) are from the target's, 0 when they coincide. Univariate series (B, N, 1).

    Examples
    --------
    >>> target = np.array([[0.0, 0.0, 1.0, 1.0, 1.0]])  # a ramp of 1 in one step ...
    >>> ramp_score(np.zeros((1, 5)), target)  # ... that a flat forecast misses: 1 over 4 steps
    array([0.25])
    """
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape or pred.size != pred.shape[0] * pred.shape[1]:
        raise ValueError(f"The ramp score needs univariate series of one shape, got {pred.shape} and {target.shape}.")
    slopes_pred = np.diff(swinging_door(pred, epsilon), axis=1)
    slopes_target = np.diff(swinging_door(target, epsilon), axis=1)
    return np.abs(slopes_target - slopes_pred).mean(axis=1)


def change_points(series, penalty: float = CHANGE_PENALTY, min_size: int = CHANGE_MIN_SIZE) -> list[np.ndarray]:
    """Change points of each series (B, N) or (B, N, d): the steps where a piecewise-constant fit
    starts a new segment, by ruptures' exact penalised search (KernelCPD with the linear kernel,
    i.e. the L2 cost; Truong, Oudre & Vayatis 2020). Each array ends with N, as ruptures returns
    them: the end of the last segment."""
    import ruptures  # imported here: only Table 2 needs it

    values = np.asarray(series, dtype=np.float64)
    values = values.reshape(len(values), values.shape[1], -1)
    detector = ruptures.KernelCPD(kernel="linear", min_size=min_size, jump=1)
    return [np.asarray(detector.fit(x).predict(pen=penalty), dtype=np.int64) for x in values]


def hausdorff(pred, target, penalty: float = CHANGE_PENALTY, min_size: int = CHANGE_MIN_SIZE) -> np.ndarray:
    """Hausdorff distance, in steps, between the change points of each forecast and its target, (B,).

    max(max over forecast change points of the distance to the nearest target one, and the other
    way round). Both sets hold the series' end N (see `change_points`), so a forecast without a
    change scores the distance from the target's earliest change to the end.

    Examples
    --------
    >>> target = np.array([[0.0] * 5 + [1.0] * 7 + [3.0] * 8])  # changes at 5 and 12
    >>> late = np.array([[0.0] * 7 + [2.0] * 13])  # one change, at 7
    >>> hausdorff(late, target)  # 12 is 5 steps from 7, the nearest of {7, 20}
    array([5.])
    """
    distances = []
    for p, t in zip(change_points(pred, penalty, min_size), change_points(target, penalty, min_size), strict=True):
        gaps = np.abs(p[:, None] - t[None, :])
        distances.append(max(gaps.min(axis=1).max(), gaps.min(axis=0).max()))
    return np.asarray(distances, dtype=np.float64)


def external(pred, target) -> dict[str, float]:
    """Table 2's metrics, means over the batch: 'ramp' (ramp score) and 'hausdorff' (steps)."""
    return {"ramp": float(ramp_score(pred, target).mean()), "hausdorff": float(hausdorff(pred, target).mean())}
