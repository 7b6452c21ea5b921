"""DILATE, soft-DTW and the soft-DTW divergence as `torch.nn.Module` losses, called as
loss_fn(pred, target) like torch's own.

For training code and forecasting frameworks that take a loss object (darts' `loss_fn`,
Lightning modules): a `reduction` attribute as torch's losses have ("mean", "sum" or "none",
the last giving one value per series), and `lengths=` for ragged batches, where series b is
scored on its first lengths[b] steps exactly as if it had been cut there (the padding gets a
gradient of exactly zero); `target_lengths=` when the targets' lengths differ from the
forecasts'. Ragged batches run in the same kernels as full ones: on the CPU the fused numba
kernels with per-series ends, on CUDA the anti-diagonal torch kernels with masks. A Sakoe-Chiba
`band` or a custom `distance` runs on the cost matrix ("matrix" on the CPU, "torch" on CUDA or
for ragged batches).
"""

import torch
from torch import nn

from dilate_core._validate import check_alpha, check_gamma
from dilate_core.losses import (
    BACKENDS,
    _dilate,
    _soft_dtw_divergence,
    _soft_dtw_of_pairs,
    check_band,
    check_reduction,
)

_CALL = """Call
    ----
    loss_fn(pred, target, lengths=None, target_lengths=None) with pred (B, M, d), target (B, N, d)
    (N and M may differ). lengths alone: pair b scored on the first lengths[b] steps of both
    series, 1 <= lengths[b] <= min(N, M); with target_lengths, lengths are the forecasts'
    (<= M, None for all M) and target_lengths the targets' (<= N). Returns a scalar ("mean",
    "sum") or a (B,) tensor ("none"), pred's dtype."""


class _SeriesLoss(nn.Module):
    """What the losses of series pairs share: gamma, reduction, backend, band and distance, checked,
    and the call; each loss writes `_loss`."""

    def __init__(
        self,
        gamma: float = 0.01,
        reduction: str = "mean",
        backend: str = "auto",
        band: int | None = None,
        distance=None,
    ):
        super().__init__()
        self.gamma = check_gamma(gamma)
        check_reduction(reduction)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
        if backend == "numba" and (band is not None or distance is not None):
            raise ValueError(
                "band= and distance= run on the cost matrix, which backend='numba' never forms: use "
                "backend='auto', 'matrix' or 'torch'."
            )
        if distance is not None and not callable(distance):
            raise TypeError(f"distance must be a function (target, pred) -> (B, N, M) costs, got {distance!r}.")
        self.reduction, self.backend = reduction, backend
        self.band, self.distance = check_band(band, 0), distance

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        lengths: torch.Tensor | None = None,
        target_lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        check_reduction(self.reduction)  # an attribute frameworks set (darts, for sample weights)
        return self._loss(pred, target, lengths, target_lengths)

    def _loss(self, pred, target, lengths, target_lengths) -> torch.Tensor:
        raise NotImplementedError

    def _options(self) -> str:
        band = "" if self.band is None else f", band={self.band}"
        distance = "" if self.distance is None else f", distance={getattr(self.distance, '__name__', self.distance)}"
        return f"gamma={self.gamma}, reduction={self.reduction!r}{band}{distance}"


class DILATELoss(_SeriesLoss):
    """DILATE (Le Guen & Thome, NeurIPS 2019): alpha shape + (1 - alpha) temporal, per series.

    shape_b = softDTW_gamma(D_b) and temporal_b = <E_b, Omega> / (N_b M_b), as `dilate_loss`
    defines them (Omega[i, j] = (i - j)^2, N_b and M_b the pair's lengths); "mean" gives
    `dilate_loss`'s loss, "sum" B times it, "none" the (B,) values
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
    band : int >= 0, or None
        Sakoe-Chiba band |i - j| <= band, as in `dilate_loss` (at least each pair's |N_b - M_b|).
    distance : function (target (B, N, d), pred (B, M, d)) -> (B, N, M) costs, or None
        The pairwise costs, as in `dilate_loss`; None: squared Euclidean.

    {call}

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

    def __init__(
        self,
        alpha: float = 0.5,
        gamma: float = 0.01,
        reduction: str = "mean",
        backend: str = "auto",
        band: int | None = None,
        distance=None,
    ):
        super().__init__(gamma, reduction, backend, band, distance)
        self.alpha = check_alpha(alpha)

    def _loss(self, pred, target, lengths, target_lengths) -> torch.Tensor:
        loss, _, _ = _dilate(
            pred,
            target,
            self.alpha,
            self.gamma,
            self.backend,
            None,
            lengths,
            self.reduction,
            target_lengths,
            self.band,
            self.distance,
        )
        return loss

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, {self._options()}"


class SoftDTWLoss(_SeriesLoss):
    """Soft-DTW (Cuturi & Blondel, ICML 2017) between each forecast and its target, on squared
    Euclidean costs by default: `soft_dtw_series`' values, reduced by `reduction` ("mean", "sum",
    "none"); tslearn's SoftDTWLossPyTorch with a reduction.

    gamma depends on the data's scale as DILATE's does; band and distance as in `DILATELoss`.
    Soft-DTW can be negative (it lies below DTW); `SoftDTWDivergenceLoss` is the version that is >= 0.

    {call}

    Examples
    --------
    >>> series = torch.tensor([[[0.0], [1.0]]])
    >>> SoftDTWLoss(gamma=1.0, reduction="none")(series, series)
    tensor([-0.5514])
    """

    # The values of each pair: (pred, target, gamma, backend, memory_limit, lengths, target_lengths,
    # band, distance) -> (B,).
    _values = staticmethod(_soft_dtw_of_pairs)

    def _loss(self, pred, target, lengths, target_lengths) -> torch.Tensor:
        options = (lengths, target_lengths, self.band, self.distance)
        values = self._values(pred, target, self.gamma, self.backend, None, *options)
        if self.reduction == "none":
            return values
        return values.mean() if self.reduction == "mean" else values.sum()

    def extra_repr(self) -> str:
        return self._options()


class SoftDTWDivergenceLoss(SoftDTWLoss):
    """The soft-DTW divergence (Blondel, Mensch & Vert, AISTATS 2021) between each forecast and
    its target: `soft_dtw_divergence`'s values, reduced by `reduction`; tslearn's
    SoftDTWLossPyTorch(normalize=True) with a reduction.

    div(x, y) = sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2: >= 0, and 0 exactly when the forecast
    equals its target (for squared Euclidean costs), so a perfect forecast scores 0 as with MSE.
    Settings as `SoftDTWLoss`'s; each self-term is scored on its own series' length.

    {call}

    Examples
    --------
    >>> series = torch.tensor([[[0.0], [1.0]]])
    >>> SoftDTWDivergenceLoss(gamma=1.0, reduction="none")(series, series)
    tensor([0.])
    """

    _values = staticmethod(_soft_dtw_divergence)


for _loss in (DILATELoss, SoftDTWLoss, SoftDTWDivergenceLoss):
    _loss.__doc__ = _loss.__doc__.replace("{call}", _CALL)
