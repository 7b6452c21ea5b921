"""Differentiable soft-DTW, its expected alignment and the DILATE loss, on batches of series.

One autograd Function runs the soft-DTW recursion once and returns both the value and the
expected alignment E; its backward is E for the value and a Hessian-vector product for E,
so `dilate_loss` differentiates through its temporal term without forming a Hessian. On the
CPU, `dilate_loss` and `soft_dtw_series` run fused numba kernels that never form the cost
matrix, in float32 for float32 series and in float64 otherwise; `soft_dtw` and
`soft_alignment` run numba kernels in float64. On CUDA, anti-diagonal torch kernels run in
float64. Every result comes back in the caller's dtype and device. The back-ends themselves
live in `dilate_core._backends`; the losses as `torch.nn.Module`s in `dilate_core.modules`.
"""

import contextlib
import math
from functools import lru_cache, wraps

import numpy as np
import torch

from dilate_core import _reference
from dilate_core._backends import (
    _SWEEPS,
    _as_dtype,
    _FusedSweeps,
    _kernel_input,
    _representable,
)
from dilate_core._validate import (
    NotFiniteError,
    check_alpha,
    check_costs,
    check_finite,
    check_gamma,
    check_number,
    check_series_pair,
    check_tensor,
)

# The most bytes one DILATE call on the CPU keeps for its backward (the softmin weights and the
# tangent of every cell: 16 B per cell for float32 series, 32 B for float64). A larger batch is
# done in groups of series, each group's forward sweep run again in the backward: same result,
# one more forward sweep. Change it here, or per call with dilate_loss(memory_limit=...).
MEMORY_LIMIT = 1 << 30


def _memory_limit(memory_limit) -> int:
    """The bytes a fused call may keep for its backward: MEMORY_LIMIT or the caller's, checked."""
    return MEMORY_LIMIT if memory_limit is None else check_number("memory_limit", memory_limit, 1, math.inf, True)


__all__ = [
    "MEMORY_LIMIT",
    "band_radius",
    "cost_matrix",
    "dilate_loss",
    "dilate_t_loss",
    "soft_alignment",
    "soft_dtw",
    "soft_dtw_divergence",
    "soft_dtw_series",
]

BACKENDS = ("auto", "numba", "matrix", "torch")  # see `dilate_loss`
FUSED_BACKENDS = ("auto", "numba")  # those of the losses of series pairs on the CPU without a cost matrix
REDUCTIONS = ("mean", "sum", "none")


def _differentiable_again(recompute):
    """A Function's backward that runs as written for a plain gradient, and through outputs
    recomputed by `recompute(ctx) -> (inputs, outputs, arguments)` with differentiable torch
    operations (`_reference`) when the gradient's graph is built (create_graph=True): the fast
    backward's result carries no graph, and a gradient penalty would see a constant."""

    def decorate(backward):
        @wraps(backward)
        def wrapper(ctx, *grads):
            if not torch.is_grad_enabled():  # the backward of a plain gradient runs without grad
                return backward(ctx, *grads)
            with torch.enable_grad():
                inputs, outputs, arguments = recompute(ctx)
                return _reference.recomputed_gradients(ctx, inputs, outputs, grads, arguments)

        return wrapper

    return decorate


def _reference_ends(ends):
    """The back-ends' ends (None, or two arrays or tensors of (B,) integers, empty for none) as
    `_reference` takes them."""
    return None if ends is None or len(ends[0]) == 0 else ends


def _eager(function):
    """`function`, run by torch.compile as a graph break: Dynamo would otherwise trace into the
    numba kernels (and fail there). Checked per call, since torch.compiler.disable's own wrapper
    costs 2 us on every eager call, a few percent of a small loss."""
    outside = torch.compiler.disable(function)

    @wraps(function)
    def wrapper(*args, **kwargs):
        if torch.compiler.is_compiling():
            return outside(*args, **kwargs)
        return function(*args, **kwargs)

    return wrapper


def _pick_backend(D: torch.Tensor, backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
    if backend == "auto":
        return "torch" if D.is_cuda else "numba"
    return "numba" if backend == "matrix" else backend  # on a cost matrix, numba's sweeps are the matrix ones


def _recompute_soft_dtw(ctx):
    """_SoftDTW's or _SoftDTWValue's inputs and outputs, recomputed with a graph."""
    D = ctx.saved_tensors[-1]
    values, alignment = _reference.soft_dtw_and_alignment(D, ctx.sweeps.gamma, _reference_ends(ctx.ends))
    return (D,), (values, alignment), 4


def _recompute_soft_dtw_value(ctx):
    """_SoftDTWValue's input and output, recomputed with a graph."""
    (D,) = ctx.saved_tensors
    return (D,), (_reference.soft_dtw_values(D, ctx.sweeps.gamma, _reference_ends(ctx.ends)),), 4


class _SoftDTW(torch.autograd.Function):
    """(B, N, M) costs -> soft-DTW values (B,) and expected alignments (B, N, M); `ends` as
    `_TorchSweeps` takes them, or None."""

    @staticmethod
    def forward(ctx, D, gamma, backend, ends=None):
        ctx.sweeps = _SWEEPS[backend](D, gamma, ends)
        ctx.ends = ends
        ones = torch.ones(D.shape[0], dtype=torch.float64, device=ctx.sweeps.values.device)
        alignment = ctx.sweeps.alignment(ones, D.dtype).to(D.device)
        ctx.save_for_backward(alignment, D)
        ctx.set_materialize_grads(False)  # an output nobody uses gets None: skip its sweep
        return ctx.sweeps.values.to(D.device, D.dtype), alignment

    @staticmethod
    @_differentiable_again(_recompute_soft_dtw)
    def backward(ctx, grad_values, grad_alignment):
        alignment, _ = ctx.saved_tensors
        # d softDTW / dD = E.
        grad_D = torch.zeros_like(alignment) if grad_values is None else grad_values[:, None, None] * alignment
        if grad_alignment is not None:
            # d<G, E> / dD = H G, H the (symmetric) Hessian of soft-DTW.
            grad_D += ctx.sweeps.hvp(grad_alignment, grad_D.dtype).to(grad_D.device)
        return grad_D, None, None, None


class _SoftDTWValue(torch.autograd.Function):
    """(B, N, M) costs -> soft-DTW values (B,); the alignment sweep runs only in the backward."""

    @staticmethod
    def forward(ctx, D, gamma, backend, ends=None):
        ctx.sweeps = _SWEEPS[backend](D, gamma, ends)
        ctx.device, ctx.dtype, ctx.ends = D.device, D.dtype, ends
        ctx.save_for_backward(D)  # for a gradient with a graph only
        return ctx.sweeps.values.to(D.device, D.dtype)

    @staticmethod
    @_differentiable_again(_recompute_soft_dtw_value)
    def backward(ctx, grad_values):
        # d sum_b g_b softDTW(D_b) / dD_b = g_b E_b, written by the alignment sweep itself.
        return ctx.sweeps.alignment(grad_values, ctx.dtype).to(ctx.device), None, None, None


@_eager
def _checked_apply(function, D, gamma, backend, ends=None):
    """function.apply(D, gamma, backend, ends) after checking D, gamma and the backend."""
    check_costs(D)
    gamma = check_gamma(gamma)
    return function.apply(D, gamma, _pick_backend(D, backend), ends)


def _checked_banded(D, band):
    """D with the band applied (see `_banded`), after checking both."""
    check_costs(D)
    return _banded(D, check_band(band, abs(D.shape[1] - D.shape[2])))


def soft_dtw(D: torch.Tensor, gamma: float, backend: str = "auto", band: int | None = None) -> torch.Tensor:
    """Soft-DTW of a batch of cost matrices (Cuturi & Blondel, ICML 2017).

    R[i, j] = D[i, j] + min_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1]) with
    min_gamma(a) = -gamma log sum exp(-a / gamma); the value is R[N, M]. As gamma -> 0 it
    tends to the DTW cost (the minimum over alignment paths of the summed costs).

    Parameters
    ----------
    D : tensor, shape (B, N, M)
        Pairwise costs, e.g. `cost_matrix(target, pred)`; N and M may differ.
    gamma : float > 0
        Smoothing temperature.
    backend : "auto", "numba", "matrix" or "torch"
        "auto" uses numba for CPU tensors and the anti-diagonal torch kernels on CUDA; "matrix"
        is "numba" here (the name matters to the losses of series, see `dilate_loss`).
    band : int >= |N - M|, or None
        Sakoe-Chiba band: only the paths whose cells all have |i - j| <= band count (the others
        as if their cost were infinite; the cells outside get a zero gradient). None: every path.

    Returns
    -------
    values : tensor, shape (B,), D's dtype and device; differentiable, d/dD = soft_alignment(D).

    References
    ----------
    Cuturi & Blondel, "Soft-DTW: a Differentiable Loss Function for Time-Series", ICML 2017.

    Examples
    --------
    >>> D = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    >>> soft_dtw(D, gamma=1.0)  # -log(1 + 2 exp(-1)): below DTW's 0, which counts only the diagonal
    tensor([-0.5514])
    """
    if band is not None:
        D = _checked_banded(D, band)
    return _checked_apply(_SoftDTWValue, D, gamma, backend)


def soft_alignment(D: torch.Tensor, gamma: float, backend: str = "auto", band: int | None = None) -> torch.Tensor:
    """Expected alignment E = d softDTW / dD (Cuturi & Blondel 2017, Algorithm 2).

    E[b, i, j] in [0, 1] is the probability that cell (i, j) lies on the alignment path under
    the Gibbs distribution over paths of temperature gamma; as gamma -> 0 it tends to the
    optimal DTW path (a 0/1 matrix). Differentiable: the backward is the Hessian-vector
    product of soft-DTW (Mensch & Blondel, ICML 2018), computed in two sweeps.

    Parameters
    ----------
    D : tensor, shape (B, N, M)
    gamma : float > 0
    backend : "auto", "numba", "matrix" or "torch", as in `soft_dtw`
    band : int >= |N - M|, or None, as in `soft_dtw`: E is 0 outside the band.

    Returns
    -------
    E : tensor, shape (B, N, M), D's dtype and device.

    References
    ----------
    Cuturi & Blondel, ICML 2017; Mensch & Blondel, "Differentiable Dynamic Programming for Structured
    Prediction and Attention", ICML 2018.

    Examples
    --------
    >>> D = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    >>> soft_alignment(D, gamma=0.01)  # the diagonal path, almost surely
    tensor([[[1., 0.],
             [0., 1.]]])
    """
    if band is not None:
        D = _checked_banded(D, band)
    _, alignment = _checked_apply(_SoftDTW, D, gamma, backend)
    return alignment


# Below this many (B, N, M, d) elements broadcasting is faster; above it its temporaries dominate.
_LARGE_COST_MATRIX = 1 << 20


class _SquaredDistances(torch.autograd.Function):
    """D[b, i, j] = sum_k (target[b, i, k] - pred[b, j, k])^2, without (B, N, M, d) temporaries."""

    @staticmethod
    def forward(ctx, target, pred):
        ctx.save_for_backward(target, pred)
        D = None
        for k in range(target.shape[2]):  # d is small: one (B, N, M) difference per feature
            difference = target[:, :, k, None] - pred[:, None, :, k]
            D = difference.square_() if D is None else D.addcmul_(difference, difference)
        return D

    @staticmethod
    def backward(ctx, G):
        # Torch operations alone: with create_graph=True autograd differentiates them again.
        # dD[i, j] / dpred[j] = -2 (target[i] - pred[j]), so grad_pred[j] = -2 (sum_i G[i, j] target[i]
        # - pred[j] sum_i G[i, j]), and symmetrically for target: two batched products, no big temporaries.
        target, pred = ctx.saved_tensors
        grad_target = grad_pred = None
        if ctx.needs_input_grad[0]:
            grad_target = 2 * (target * G.sum(dim=2, keepdim=True) - torch.bmm(G, pred))
        if ctx.needs_input_grad[1]:
            grad_pred = 2 * (pred * G.sum(dim=1)[:, :, None] - torch.bmm(G.transpose(1, 2), target))
        return grad_target, grad_pred


def cost_matrix(target: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean costs D[b, i, j] = ||target[b, i] - pred[b, j]||^2.

    target : (B, N, d), pred : (B, M, d) -> D : (B, N, M), differentiable in both.

    Examples
    --------
    >>> cost_matrix(torch.tensor([[[0.0], [2.0]]]), torch.tensor([[[1.0], [2.0], [4.0]]]))
    tensor([[[ 1.,  4., 16.],
             [ 1.,  0.,  4.]]])
    """
    check_tensor(target, "target", "(B, N, d)")
    check_tensor(pred, "pred", "(B, M, d)")
    B, N, d = target.shape
    if B * N * pred.shape[1] * d < _LARGE_COST_MATRIX:
        return ((target[:, :, None, :] - pred[:, None, :, :]) ** 2).sum(dim=-1)
    return _SquaredDistances.apply(target, pred)


@lru_cache(maxsize=32)
def _omega(N: int, M: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Omega[i, j] = (i - j)^2, shape (N, M): the TDI penalty of matching i with j."""
    i = torch.arange(N, dtype=dtype, device=device)[:, None]
    j = torch.arange(M, dtype=dtype, device=device)[None, :]
    return (i - j) ** 2


# The cost of a cell outside a Sakoe-Chiba band. A path through such a cell has a softmin weight
# of exp(-BLOCKED / gamma) = 0 next to any path inside the band (for gamma up to ~1e8 and
# in-band path costs far below 1e10), as if the cost were infinite, while the kernels' check for
# non-finite costs still catches real overflow; its gradient is exactly 0.
BLOCKED = 1e10


def check_band(band, ends_apart: int) -> int | None:
    """band : None (no band) or a whole number >= ends_apart, the largest |N_b - M_b| of the
    batch's grids (a narrower band holds no path from the first cell to the last)."""
    if band is None:
        return None
    if isinstance(band, bool) or not isinstance(band, (int, np.integer)) or band < 0:
        raise ValueError(f"band must be None or a whole number >= 0 (the largest |i - j| allowed), got {band!r}.")
    if band < ends_apart:
        raise ValueError(
            f"band must be at least {ends_apart}, the difference of the lengths of a pair, or no alignment "
            f"path fits inside it; got {band}."
        )
    return int(band)


@lru_cache(maxsize=32)
def _outside_band(N: int, M: int, band: int, device: torch.device) -> torch.Tensor:
    """(N, M) booleans: True where |i - j| > band."""
    i = torch.arange(N, device=device)[:, None]
    j = torch.arange(M, device=device)[None, :]
    return (i - j).abs() > band


def _banded(D: torch.Tensor, band: int | None) -> torch.Tensor:
    """D (B, N, M) with the cells outside the Sakoe-Chiba band |i - j| <= band costing BLOCKED."""
    if band is None:
        return D
    return D.masked_fill(_outside_band(D.shape[1], D.shape[2], band, D.device), BLOCKED)


def _checked_distance(distance, target: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """distance(target, pred), the (B, N, M) costs of a custom distance, checked."""
    if not callable(distance):
        raise TypeError(
            f"distance must be a function (target, pred) -> (B, N, M) costs, got {type(distance).__name__}."
        )
    D = distance(target, pred)
    expected = (target.shape[0], target.shape[1], pred.shape[1])
    if not isinstance(D, torch.Tensor) or tuple(D.shape) != expected or not D.is_floating_point():
        got = tuple(D.shape) if isinstance(D, torch.Tensor) else type(D).__name__
        raise ValueError(
            f"distance(target, pred) must return a floating tensor of shape (B, N, M) = {expected}, got {got}."
        )
    return D


def _pair_costs(pred, target, ends, backend, band, distance) -> tuple[torch.Tensor, str]:
    """(D, backend) for the losses of series pairs that form their cost matrix: D (B, N, M)
    squared Euclidean or `distance`'s, the band checked against the pairs' ends and applied;
    the backend as asked, or as `_matrix_backend` picks it for a band or a distance."""
    if band is not None or distance is not None:
        band = check_band(band, _ends_apart(pred, target, ends))
        backend = _matrix_backend(backend, pred.is_cuda, ends is not None)
    D = cost_matrix(target, pred) if distance is None else _checked_distance(distance, target, pred)
    return _banded(D, band), backend


def _matrix_backend(backend: str, is_cuda: bool, ragged: bool) -> str:
    """The backend of a loss of series that must form its cost matrix (a band, a custom distance):
    "auto" picks the numba sweeps on the CPU ("torch" for a ragged batch, which they do not take)
    and "torch" on CUDA; "numba", the fused kernels that never form the matrix, is refused."""
    if backend == "numba":
        raise ValueError(
            "band= and distance= run on the cost matrix, which backend='numba' never forms: use "
            "backend='auto', 'matrix' or 'torch'."
        )
    if backend == "auto":
        return "torch" if is_cuda or ragged else "matrix"
    return backend


class _CostsOfFiniteSeries:
    """Context: costs of series already checked finite can only be non-finite by overflow, so
    a NotFiniteError about D becomes one that says so. (A class: a generator-based context
    manager costs several microseconds per loss call.)"""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, NotFiniteError) and error.name == "D":  # not the series themselves
            raise ValueError(
                "The squared distances between pred and target overflow their dtype; scale the series down "
                "(e.g. standardise them) or use float64."
            ) from None
        return False


_costs_of_finite_series = _CostsOfFiniteSeries()


def _overflow_explained(distance):
    """The context around the sweeps of series pairs' costs: squared distances of finite series
    are non-finite only by overflow (said so), a custom distance's for reasons of its own."""
    return _costs_of_finite_series if distance is None else contextlib.nullcontext()


def _recompute_pair(ctx, timed: bool):
    """The series a fused Function kept, and their soft-DTW values (B,) and (when `timed`) <E_b, Omega>
    (B,), recomputed with a graph."""
    # Aliases: when pred and target are one tensor (soft_dtw_divergence's self-terms), each
    # argument's gradient is then its own, not both summed twice.
    pred, target = (x.view_as(x) for x in ctx.saved_tensors)
    ends = _reference_ends(ctx.sweeps.ends)
    D = cost_matrix(target, pred)
    if not timed:
        return pred, target, _reference.soft_dtw_values(D, ctx.sweeps.gamma, ends), None
    values, alignment = _reference.soft_dtw_and_alignment(D, ctx.sweeps.gamma, ends)
    N, M = D.shape[1:]
    return pred, target, values, (alignment * _omega(N, M, D.device, torch.float64)).sum(dim=(1, 2))


def _recompute_fused_dilate(ctx):
    """_FusedDILATE's inputs and outputs (loss, shape, temporal), recomputed with a graph."""
    pred, target, shape, totals = _recompute_pair(ctx, timed=True)
    cells = ctx.cells if isinstance(ctx.cells, int) else torch.from_numpy(ctx.cells)
    temporal = totals / cells
    terms = [ctx.alpha * shape + (1 - ctx.alpha) * temporal, shape, temporal]
    if ctx.reduction != "none":
        terms = [_REDUCE[ctx.reduction](x) for x in terms]
    return (pred, target), terms, 8


class _FusedDILATE(torch.autograd.Function):
    """(pred (B, M, d), target (B, N, d)) -> DILATE's loss, shape and temporal terms, on the CPU
    with `_FusedSweeps`: one forward sweep, one backward sweep, no cost matrix. ends : None or
    (target_ends, pred_ends), as `_FusedSweeps` takes them; reduction : "mean" or "sum" over
    the batch (scalars), or "none" ((B,) values)."""

    @staticmethod
    def forward(ctx, pred, target, alpha, gamma, memory_limit, differentiated, ends=None, reduction="mean"):
        sweeps = _FusedSweeps(pred, target, gamma, memory_limit, differentiated, timed=True, ends=ends)
        B, N, M = target.shape[0], target.shape[1], pred.shape[1]
        ctx.save_for_backward(pred, target)
        ctx.sweeps, ctx.alpha, ctx.reduction = sweeps, alpha, reduction
        # The temporal term's normaliser: the cells of each pair's grid.
        ctx.cells = N * M if ends is None else (ends[0] * ends[1]).astype(np.float64)
        ctx.set_materialize_grads(False)
        if ends is None and reduction == "mean":  # the common call
            shape = sum(sweeps.values.tolist()) / B  # Python floats: a numpy reduction costs more here
            temporal = sum(sweeps.tangents.tolist()) / (B * N * M)
            out = (alpha * shape + (1 - alpha) * temporal, shape, temporal)
            if not _representable(out, pred.dtype):
                raise NotFiniteError("D")  # costs summed in float64 that the caller's dtype cannot hold
            return tuple(torch.scalar_tensor(x, dtype=pred.dtype) for x in out)
        shape, temporal = sweeps.values, sweeps.tangents / ctx.cells
        out = [alpha * shape + (1 - alpha) * temporal, shape, temporal]
        if reduction != "none":
            out = [np.atleast_1d(x.mean() if reduction == "mean" else x.sum()) for x in out]
        if not _representable(np.concatenate(out), pred.dtype):
            raise NotFiniteError("D")
        out = [torch.from_numpy(x).to(pred.dtype) for x in out]
        return tuple(x if reduction == "none" else x[0] for x in out)

    @staticmethod
    @_differentiable_again(_recompute_fused_dilate)
    def backward(ctx, grad_loss, grad_shape, grad_temporal):
        pred, target = ctx.saved_tensors  # unpacked to check they were not changed in place
        B = target.shape[0]
        g_loss, g_shape, g_time = (_per_series(g) for g in (grad_loss, grad_shape, grad_temporal))
        # d loss = sum_b (alpha g_loss + g_shape) / B dR_b + ((1 - alpha) g_loss + g_time) / (B N_b M_b) dT_b
        # for the mean; without the 1 / B for the sum, and with each series' own g for "none".
        batch = B if ctx.reduction == "mean" else 1
        shape_scale, time_scale = np.empty((2, B))
        shape_scale[:] = (ctx.alpha * g_loss + g_shape) / batch
        time_scale[:] = ((1 - ctx.alpha) * g_loss + g_time) / (batch * ctx.cells)
        grads = ctx.sweeps.gradients(shape_scale, time_scale, ctx.needs_input_grad[1])
        return (*grads, None, None, None, None, None, None)


def _per_series(grad):
    """An output's gradient for the kernels' scales: 0.0 for None, a float for a scalar, else (B,) float64."""
    if grad is None:
        return 0.0
    if grad.dim() == 0:
        return float(grad)
    return grad.detach().to("cpu", torch.float64).numpy()


def _recompute_fused_soft_dtw(ctx):
    """_FusedSoftDTW's inputs and output, recomputed with a graph."""
    pred, target, values, _ = _recompute_pair(ctx, timed=False)
    return (pred, target), (values,), 6


class _FusedSoftDTW(torch.autograd.Function):
    """(pred (B, M, d), target (B, N, d)) -> soft-DTW of each pair (B,), with `_FusedSweeps`."""

    @staticmethod
    def forward(ctx, pred, target, gamma, memory_limit, differentiated, ends=None):
        sweeps = _FusedSweeps(pred, target, gamma, memory_limit, differentiated, timed=False, ends=ends)
        if not _representable(sweeps.values, pred.dtype):
            raise NotFiniteError("D")
        ctx.save_for_backward(pred, target)
        ctx.sweeps = sweeps
        values = torch.from_numpy(sweeps.values.astype(sweeps.store_dtype, copy=False))  # numpy casts faster
        return _as_dtype(values, pred.dtype)

    @staticmethod
    @_differentiable_again(_recompute_fused_soft_dtw)
    def backward(ctx, grad_values):
        ctx.saved_tensors  # noqa: B018 (unpacked to check the series were not changed in place)
        shape_scale = _kernel_input(grad_values, np.float64)  # often a stride-0 expansion
        grads = ctx.sweeps.gradients(shape_scale, np.zeros(len(shape_scale)), ctx.needs_input_grad[1])
        return (*grads, None, None, None, None)


def _differentiated(pred: torch.Tensor, target: torch.Tensor) -> bool:
    """Whether a gradient can come: without one (e.g. the DILATE parts reported for an MSE
    model), the fused forward stores nothing."""
    return torch.is_grad_enabled() and (pred.requires_grad or target.requires_grad)


def dilate_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.5,
    gamma: float = 0.01,
    backend: str = "auto",
    memory_limit: int | None = None,
    *,
    band: int | None = None,
    distance=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DILATE, the shape and time distortion loss (Le Guen & Thome, NeurIPS 2019).

    shape = mean_b softDTW_gamma(D_b), temporal = mean_b <E_b, Omega> / (N M) with
    D = cost_matrix(target, pred), E = soft_alignment(D, gamma), Omega[i, j] = (i - j)^2;
    loss = alpha shape + (1 - alpha) temporal. As gamma -> 0 the shape term tends to the
    DTW cost and the temporal term to the TDI of the optimal path.

    Parameters
    ----------
    pred : tensor, shape (B, M, d)
        Forecasts.
    target : tensor, shape (B, N, d)
        Ground truth, same B and d (N and M may differ).
    alpha : float in [0, 1]
        Weight of the shape term; alpha = 1 is soft-DTW alone.
    gamma : float > 0
        Smoothing temperature of soft-DTW.
    backend : "auto", "numba", "matrix" or "torch"
        "auto": "numba" for CPU tensors, "torch" on CUDA. "numba": the fused kernels, no cost
        matrix formed. "matrix": D formed, then `soft_dtw`'s numba sweeps over it; slower on
        large batches and without lengths, but it compiles in about a quarter of the time of
        "numba" (seconds, not half a minute): for a few small calls in a fresh process.
        "torch": D formed, then the anti-diagonal torch kernels (CUDA's).
    memory_limit : int, bytes
        On the CPU, the most memory kept between forward and backward (default MEMORY_LIMIT);
        a batch that needs more runs in groups of series, with the same result.
    band : int >= |N - M|, or None
        Sakoe-Chiba band, as in `soft_dtw`: target step i and forecast step j are matched only
        when |i - j| <= band. None: no band.
    distance : function (target (B, N, d), pred (B, M, d)) -> (B, N, M) costs, or None
        The pairwise costs D, called as `cost_matrix` is (its default); differentiable by
        autograd (twice, for second derivatives).

    A band or a distance needs the cost matrix: "auto" then runs "matrix" on the CPU and "torch"
    on CUDA, and "numba" (the fused kernels) raises a ValueError.

    Returns
    -------
    loss, shape, temporal : scalar tensors, pred's dtype and device; all differentiable.

    References
    ----------
    Le Guen & Thome, "Shape and Time Distortion Loss for Training Deep Time Series Forecasting
    Models", NeurIPS 2019.

    Examples
    --------
    >>> target = torch.tensor([[[0.0], [0.0], [1.0], [1.0]]])
    >>> late = torch.tensor([[[0.0], [0.0], [0.0], [1.0]]], requires_grad=True)
    >>> loss, shape, temporal = dilate_loss(late, target, alpha=0.5, gamma=0.01)
    >>> round(shape.item(), 3), round(temporal.item(), 3)  # the right shape (<= 0), but late (> 0)
    (-0.016, 0.225)
    >>> loss.backward()
    """
    return _dilate(pred, target, alpha, gamma, backend, memory_limit, band=band, distance=distance)


@_eager
def _dilate(
    pred,
    target,
    alpha,
    gamma,
    backend,
    memory_limit,
    lengths=None,
    reduction="mean",
    target_lengths=None,
    band=None,
    distance=None,
):
    """`dilate_loss` with the pairs cut as `_checked_ends` says (lengths, target_lengths : None or
    (B,) integer tensors), and the terms reduced by "mean" or "sum" over the batch, or "none"
    ((B,) each)."""
    check_tensor(pred, "pred", "(B, M, d)")
    costs_formed = band is not None or distance is not None  # on the cost matrix, not the fused kernels
    fused = backend in FUSED_BACKENDS and not pred.is_cuda and not costs_formed
    pred, target, ends = _checked_pair(pred, target, lengths, fused, target_lengths)
    alpha = check_alpha(alpha)
    check_reduction(reduction)
    if fused:
        gamma = check_gamma(gamma)
        limit = _memory_limit(memory_limit)
        kernel_ends = None if ends is None else tuple(end.numpy() for end in ends)
        with _costs_of_finite_series:
            differentiated = _differentiated(pred, target)
            return _FusedDILATE.apply(pred, target, alpha, gamma, limit, differentiated, kernel_ends, reduction)
    D, backend = _pair_costs(pred, target, ends, backend, band, distance)  # (B, N, M)
    with _overflow_explained(distance):
        values, alignment = _checked_apply(_SoftDTW, D, gamma, backend, ends)
    N, M = D.shape[1:]
    totals = (alignment * _omega(N, M, D.device, D.dtype)).sum(dim=(1, 2))  # <E_b, Omega>, (B,)
    if ends is None and reduction == "mean":
        shape = values.mean()
        temporal = totals.mean() / (N * M)
        return _weighted(alpha, shape, temporal), shape, temporal
    cells = N * M if ends is None else (ends[0] * ends[1]).to(D.device, D.dtype)  # N_b M_b
    shape, temporal = values, totals / cells
    terms = (_weighted(alpha, shape, temporal), shape, temporal)
    return terms if reduction == "none" else tuple(_REDUCE[reduction](x) for x in terms)


def _weighted(alpha: float, shape: torch.Tensor, temporal: torch.Tensor) -> torch.Tensor:
    """alpha shape + (1 - alpha) temporal; at alpha = 1 the shape alone, so that the loss's backward
    skips the temporal term's sweeps (0 x temporal would run them), while `temporal` itself stays
    differentiable for whoever takes its gradient."""
    return shape if alpha == 1.0 else alpha * shape + (1 - alpha) * temporal


_REDUCE = {"mean": torch.mean, "sum": torch.sum}


def check_reduction(reduction) -> None:
    """reduction must name one of REDUCTIONS."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}.")


def check_lengths(lengths, B: int, longest: int, name: str = "lengths") -> torch.Tensor:
    """lengths as a (B,) int64 CPU tensor: whole numbers from 1 to `longest`, the series' length."""
    if not isinstance(lengths, torch.Tensor) or lengths.shape != (B,) or lengths.is_floating_point():
        shape = tuple(lengths.shape) if isinstance(lengths, torch.Tensor) else type(lengths).__name__
        raise ValueError(f"{name} must be an integer tensor of shape ({B},), one length per series, got {shape}.")
    lengths = lengths.to("cpu", torch.int64)
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > longest:
        raise ValueError(f"{name} must lie from 1 to {longest} (the series' length), got {low} to {high}.")
    return lengths


def _checked_ends(pred, target, lengths, target_lengths):
    """Where each pair's grid ends: None (every pair whole) or (target_ends, pred_ends), two (B,)
    int64 CPU tensors. lengths alone cuts both series of pair b at lengths[b] (at most min(N, M));
    with target_lengths, lengths cuts the forecasts (at most M, whole when None) and target_lengths
    the targets (at most N)."""
    if lengths is None and target_lengths is None:
        return None
    B, N, M = pred.shape[0], target.shape[1], pred.shape[1]
    if target_lengths is None:
        both = check_lengths(lengths, B, min(N, M))
        return both, both
    target_ends = check_lengths(target_lengths, B, N, "target_lengths")
    pred_ends = torch.full((B,), M, dtype=torch.int64) if lengths is None else check_lengths(lengths, B, M)
    return target_ends, pred_ends


def _checked_pair(pred, target, lengths, fused: bool, target_lengths=None):
    """(pred, target, ends) checked, ends as `_checked_ends` gives them, the padding beyond them
    zeroed; the series' values are checked finite here unless `fused` (the fused forward flags
    non-finite values itself)."""
    check_series_pair(pred, target, finite=False)
    ends = _checked_ends(pred, target, lengths, target_lengths)
    if ends is not None:
        target, pred = _zero_padding(target, ends[0]), _zero_padding(pred, ends[1])
    if not fused:
        check_finite(pred, "pred")
        check_finite(target, "target")
    return pred, target, ends


def _ends_apart(pred, target, ends) -> int:
    """The largest |N_b - M_b| of the batch's grids, the narrowest Sakoe-Chiba band that holds a path."""
    if ends is None:
        return abs(target.shape[1] - pred.shape[1])
    return int((ends[0] - ends[1]).abs().max())


def _zero_padding(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """x (B, L, d) with the steps from lengths[b] on set to 0 (NaN too): the kernels then see finite
    padding, and autograd passes exactly 0 to it."""
    steps = torch.arange(x.shape[1], device=x.device)
    kept = steps[None, :, None] < lengths.to(x.device)[:, None, None]
    return torch.where(kept, x, torch.zeros((), dtype=x.dtype, device=x.device))


def soft_dtw_series(
    pred: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 0.01,
    backend: str = "auto",
    memory_limit: int | None = None,
    *,
    lengths: torch.Tensor | None = None,
    target_lengths: torch.Tensor | None = None,
    band: int | None = None,
    distance=None,
) -> torch.Tensor:
    """Soft-DTW between each forecast and its target, on squared Euclidean costs by default.

    values[b] = softDTW_gamma(D_b) with D_b = cost_matrix(target, pred)[b]: the same numbers as
    `soft_dtw(cost_matrix(target, pred), gamma)`, but on the CPU without forming D, through the
    fused kernels of `dilate_loss` (with no temporal term to carry).

    Parameters
    ----------
    pred : tensor, shape (B, M, d)
    target : tensor, shape (B, N, d), same B and d; N and M may differ
    gamma : float > 0
    backend : "auto", "numba", "matrix" or "torch", as in `dilate_loss`
    memory_limit : int, bytes, as in `dilate_loss`
    lengths : (B,) integer tensor, or None
        Without target_lengths: pair b scored on the first lengths[b] steps of both series
        (1 <= lengths[b] <= min(N, M)). With it: the forecasts' lengths (<= M; None: all M).
    target_lengths : (B,) integer tensor, or None
        The targets' lengths (1 <= target_lengths[b] <= N), for pairs of different lengths.
        The steps beyond a length get a gradient of exactly 0.
    band : int, or None, as in `dilate_loss` (at least every pair's |N_b - M_b|)
    distance : function (target, pred) -> (B, N, M) costs, or None, as in `dilate_loss`

    Returns
    -------
    values : tensor, shape (B,), pred's dtype and device; differentiable with respect to both series.

    Examples
    --------
    >>> series = torch.tensor([[[0.0], [1.0]]])
    >>> soft_dtw_series(series, series, gamma=1.0)  # below DTW's 0, as soft-DTW is
    tensor([-0.5514])
    """
    return _soft_dtw_of_pairs(pred, target, gamma, backend, memory_limit, lengths, target_lengths, band, distance)


@_eager
def _soft_dtw_of_pairs(
    pred, target, gamma, backend, memory_limit, lengths=None, target_lengths=None, band=None, distance=None
):
    """`soft_dtw_series` with the pairs cut as `_checked_ends` says (lengths, target_lengths : None
    or (B,) integer tensors)."""
    check_tensor(pred, "pred", "(B, M, d)")
    costs_formed = band is not None or distance is not None  # on the cost matrix, not the fused kernels
    fused = backend in FUSED_BACKENDS and not pred.is_cuda and not costs_formed
    pred, target, ends = _checked_pair(pred, target, lengths, fused, target_lengths)
    gamma = check_gamma(gamma)
    if fused:
        kernel_ends = None if ends is None else tuple(end.numpy() for end in ends)
        limit = _memory_limit(memory_limit)
        with _costs_of_finite_series:
            return _FusedSoftDTW.apply(pred, target, gamma, limit, _differentiated(pred, target), kernel_ends)
    D, backend = _pair_costs(pred, target, ends, backend, band, distance)
    with _overflow_explained(distance):
        return _checked_apply(_SoftDTWValue, D, gamma, backend, ends)


def _soft_dtw_divergence(
    pred, target, gamma, backend, memory_limit=None, lengths=None, target_lengths=None, band=None, distance=None
):
    """`soft_dtw_divergence` with the pairs cut as `_soft_dtw_of_pairs` cuts them, each self-term
    on its own series' lengths."""
    own_target_lengths = lengths if target_lengths is None else target_lengths
    settings = (gamma, backend, memory_limit)
    extra = {"band": band, "distance": distance}
    cross = _soft_dtw_of_pairs(pred, target, *settings, lengths, target_lengths, **extra)
    own_pred = _soft_dtw_of_pairs(pred, pred, *settings, lengths, **extra)
    own_target = _soft_dtw_of_pairs(target, target, *settings, own_target_lengths, **extra)
    return cross - (own_target + own_pred) / 2


TANGLED_OMEGAS = ("weighted", "band")


@lru_cache(maxsize=32)
def _tangled_omega(kind: str, N: int, M: int, steepness: float, radius: int, device, dtype) -> torch.Tensor:
    """(N, M) time penalty of DILATE_t: Jeong et al.'s logistic weight of |i - j|, or a band."""
    distance = (torch.arange(N, device=device)[:, None] - torch.arange(M, device=device)[None, :]).abs()
    if kind == "weighted":  # w(k) = 1 / (1 + exp(-g (k - N / 2))), Jeong, Jeong & Omitaomu 2011, Eq. 4
        weight = torch.sigmoid(steepness * (distance.to(torch.float64) - N / 2))
        return (weight - weight.min()).to(dtype)  # w(k) - w(0): no penalty on the diagonal, as (i - j)^2
    return torch.where(distance <= radius, 0.0, BLOCKED).to(dtype)


def band_radius(N: int, M: int) -> int:
    """The default Sakoe-Chiba radius: 10% of the longer series (at least 1), and at least |N - M|
    so that the band holds a path."""
    return max(1, round(0.1 * max(N, M)), abs(N - M))


@_eager
def dilate_t_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.5,
    gamma: float = 0.01,
    omega: str = "weighted",
    steepness: float = 0.25,
    radius: int | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """DILATE_t, the "tangled" variant: soft-DTW over alpha Delta + (1 - alpha) Omega (the paper's Eq. 5).

    Shape and time enter one alignment cost instead of two terms, so a time shift can be traded
    for a shape error along the path. `omega` picks the time penalty Omega[i, j]:

    - "weighted": w(|i - j|) - w(0) with w(k) = 1 / (1 + exp(-steepness (k - N / 2))), the
      logistic weight of weighted DTW (Jeong, Jeong & Omitaomu 2011): increasing in |i - j|,
      in [0, 1), 0 on the diagonal like DILATE's (i - j)^2.
    - "band": 0 within the Sakoe-Chiba band |i - j| <= radius (default: `band_radius(N, M)`),
      infinite outside (see BLOCKED) whatever alpha: a hard limit on the time distortion.

    Parameters
    ----------
    pred : tensor, shape (B, M, d)
    target : tensor, shape (B, N, d)
    alpha : float in [0, 1]
        Weight of Delta, the squared distances.
    gamma : float > 0
    omega : "weighted" or "band"
    steepness : float
        g of the logistic weight ("weighted").
    radius : int >= |N - M|
        Half-width of the band ("band").

    Returns
    -------
    loss : scalar tensor, mean over the batch; pred's dtype and device; differentiable.

    References
    ----------
    Le Guen & Thome, NeurIPS 2019, Eq. 5 and Table 3; Jeong, Jeong & Omitaomu, "Weighted dynamic
    time warping for time series classification", Pattern Recognition 2011; Sakoe & Chiba 1978.

    Examples
    --------
    >>> target = torch.tensor([[[0.0], [0.0], [1.0], [1.0]]])
    >>> late = torch.tensor([[[0.0], [0.0], [0.0], [1.0]]])
    >>> round(dilate_t_loss(late, target, gamma=0.01, omega="band", radius=0).item(), 3)  # no shift allowed
    0.5
    """
    check_series_pair(pred, target)
    alpha = check_alpha(alpha)
    if omega not in TANGLED_OMEGAS:
        raise ValueError(f"omega must be one of {', '.join(TANGLED_OMEGAS)}, got {omega!r}.")
    N, M = target.shape[1], pred.shape[1]
    radius = band_radius(N, M) if radius is None else radius
    if omega == "band" and (isinstance(radius, bool) or not isinstance(radius, int) or radius < abs(N - M)):
        raise ValueError(f"radius must be a whole number >= |N - M| = {abs(N - M)}, or no path fits; got {radius!r}.")
    D = cost_matrix(target, pred)
    penalty = _tangled_omega(omega, N, M, float(steepness), radius, D.device, D.dtype)
    # The band's infinite cells stay infinite whatever alpha (even alpha = 1, where 0 x inf is no help).
    costs = alpha * D + (penalty if omega == "band" else (1 - alpha) * penalty)
    with _costs_of_finite_series:
        return _checked_apply(_SoftDTWValue, costs, gamma, backend).mean()


def soft_dtw_divergence(
    pred: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 0.01,
    backend: str = "auto",
    *,
    lengths: torch.Tensor | None = None,
    target_lengths: torch.Tensor | None = None,
    band: int | None = None,
    distance=None,
) -> torch.Tensor:
    """Soft-DTW divergence (Blondel, Mensch & Vert, AISTATS 2021), one value per series.

    div(x, y) = sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2 with sdtw on squared Euclidean
    costs by default. Unlike soft-DTW it is >= 0 and 0 exactly when x = y (for the squared
    Euclidean costs; other distances need the paper's conditions); as gamma -> 0 it tends to
    DTW(x, y) (the self-alignments then cost 0). tslearn's SoftDTWLossPyTorch(normalize=True).

    pred : (B, M, d), target : (B, N, d) -> (B,) values, pred's dtype and device; differentiable.
    backend : "auto", "numba", "matrix" or "torch", as in `dilate_loss`.
    lengths, target_lengths, band, distance : as in `soft_dtw_series`; each self-term is scored
    on its own series' length.

    Examples
    --------
    >>> x = torch.tensor([[[0.0], [1.0], [1.0]]])
    >>> soft_dtw_divergence(x, x, gamma=0.1)
    tensor([0.])
    """
    return _soft_dtw_divergence(pred, target, gamma, backend, None, lengths, target_lengths, band, distance)
