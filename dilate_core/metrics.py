"""The paper's evaluation metrics on batches of forecasts: MSE, exact DTW and TDI.

DTW is the exact dynamic-time-warping distance as tslearn's `dtw_path` reports it, the square
root of the summed squared costs along the optimal path; TDI (temporal distortion index) is
the sum over that path of (i - j)^2, divided by N M (N^2 for the paper's equal lengths).
"""

from dataclasses import dataclass

import numpy as np
import torch

from dilate_core import _kernels, _scratch
from dilate_core._validate import check_series_pair
from dilate_core.losses import KERNEL_LOCK, cost_matrix, soft_alignment


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
