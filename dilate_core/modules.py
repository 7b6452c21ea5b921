"""DILATE and soft-DTW as `torch.nn.Module` losses, called as loss_fn(pred, target) like torch's own.

For training code and forecasting frameworks that take a loss object (darts' `loss_fn`,
Lightning modules): a `reduction` attribute as torch's losses have ("mean", "sum" or "none",
the last giving one value per series), and `lengths=` for ragged batches, where series b is
scored on its first lengths[b] steps exactly as if it had been cut there (the padding gets a
gradient of exactly zero). Ragged batches run in the same kernels as full ones: on the CPU the
fused numba kernels with per-series ends, on CUDA the anti-diagonal torch kernels with masks.
"""

import torch
from torch import nn

from dilate_core._validate import check_alpha, check_gamma
from dilate_core.losses import BACKENDS, _dilate, _soft_dtw_of_pairs, check_reduction


class DILATELoss(nn.Module):
    """DILATE (Le Guen & Thome, NeurIPS 2019): alpha shape + (1 - alpha) temporal, per series.

    shape_b = softDTW_gamma(D_b) and temporal_b = <E_b, Omega> / (N_b M_b), as `dilate_loss`
    defines them; "mean" gives `dilate_loss`'s loss, "sum" B times it, "none" the (B,) values
    alpha shape_b + (1 - alpha) temporal_b.

    alpha and gamma depend on the data's scale: the shape term sums squared differences along a
    path (it grows with the series' variance and length), the temporal term is in squared time
    steps. For series standardised to unit variance, alpha = 0.5 and gamma = 0.01 are the
    paper's choice; for other scales, tune them (or standardise).

    Parameters
    ----------
    alpha : float in [0, 1]
        Weight of the shape term; 1 is soft-DTW alone.
    gamma : float > 0
        Smoothing temperature of soft-DTW.
    reduction : "mean", "sum" or "none"
    backend : "auto", "numba", "matrix" or "torch", as in `dilate_loss`.

    Call
    ----
    loss_fn(pred, target, lengths=None) with pred (B, M, d), target (B, N, d) and lengths None or
    a (B,) integer tensor, 1 <= lengths[b] <= min(N, M): pair b scored on its first lengths[b]
    steps of each. Returns a scalar ("mean", "sum") or a (B,) tensor ("none"), pred's dtype.

    Examples
    --------
    >>> loss_fn = DILATELoss(alpha=0.5, gamma=0.01)
    >>> target = torch.tensor([[[0.0], [0.0], [1.0], [1.0]]])
    >>> late = torch.tensor([[[0.0], [0.0], [0.0], [1.0]]], requires_grad=True)
    >>> round(loss_fn(late, target).item(), 3)  # dilate_loss(late, target)[0]
    0.104
    >>> trimmed = loss_fn(late[:, :3], target[:, :3])
    >>> bool(loss_fn(late, target, lengths=torch.tensor([3])) == trimmed)  # lengths= is trimming
    True
    """

    def __init__(self, alpha: float = 0.5, gamma: float = 0.01, reduction: str = "mean", backend: str = "auto"):
        super().__init__()
        self.alpha, self.gamma = check_alpha(alpha), check_gamma(gamma)
        check_reduction(reduction)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
        self.reduction, self.backend = reduction, backend

    def forward(self, pred: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        loss, _, _ = _dilate(pred, target, self.alpha, self.gamma, self.backend, None, lengths, self.reduction)
        return loss

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gamma={self.gamma}, reduction={self.reduction!r}"


class SoftDTWLoss(nn.Module):
    """Soft-DTW (Cuturi & Blondel, ICML 2017) between each forecast and its target, on squared
    Euclidean costs: `soft_dtw_series`' values, reduced by `reduction` ("mean", "sum", "none").

    gamma depends on the data's scale as DILATE's does. Called as `DILATELoss` is, `lengths` too.
    Soft-DTW can be negative (it lies below DTW); `soft_dtw_divergence` is the version that is >= 0.

    Examples
    --------
    >>> series = torch.tensor([[[0.0], [1.0]]])
    >>> SoftDTWLoss(gamma=1.0, reduction="none")(series, series)
    tensor([-0.5514])
    """

    def __init__(self, gamma: float = 0.01, reduction: str = "mean", backend: str = "auto"):
        super().__init__()
        self.gamma = check_gamma(gamma)
        check_reduction(reduction)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
        self.reduction, self.backend = reduction, backend

    def forward(self, pred: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        check_reduction(self.reduction)  # an attribute frameworks set (darts, for sample weights)
        values = _soft_dtw_of_pairs(pred, target, self.gamma, self.backend, None, lengths)
        if self.reduction == "none":
            return values
        return values.mean() if self.reduction == "mean" else values.sum()

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, reduction={self.reduction!r}"
