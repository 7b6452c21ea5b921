"""Differentiable soft-DTW, its expected alignment and the DILATE loss, on batches of series.

One autograd Function runs the soft-DTW recursion once and returns both the value and the
expected alignment E; its backward is E for the value and a Hessian-vector product for E,
so `dilate_loss` differentiates through its temporal term without forming a Hessian. Tensors
on the CPU go to the numba kernels, tensors on CUDA to the anti-diagonal torch kernels; both
compute in float64 and hand back the caller's dtype and device.
"""

import math
import threading
from functools import cache, lru_cache, wraps

import numba
import numpy as np
import torch
from torch.autograd.function import once_differentiable

from dilate_core import _fused, _kernels, _scratch, _wavefront
from dilate_core._validate import (
    NotFiniteError,
    check_alpha,
    check_costs,
    check_finite,
    check_gamma,
    check_number,
    check_series_pair,
)

BACKENDS = ("auto", "numba", "torch")
# numba's parallel kernels are already parallel inside; its 'workqueue' threading layer also
# aborts when two threads launch them at once, so calls from threads take turns.
KERNEL_LOCK = threading.Lock()


def _kernel_input(tensor: torch.Tensor, dtype=None) -> np.ndarray:
    """A C-contiguous array holding the tensor's values, for the numba kernels: of `dtype`, or
    float32 or float64 as the tensor is (float64 for other dtypes). Copies only what must be."""
    if tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.double()
    return np.ascontiguousarray(tensor.numpy(force=True), dtype)


def _once_differentiable(backward):
    """torch's `once_differentiable` (a second derivative raises), entered only while a graph
    of the gradient is being built (create_graph=True): otherwise its no_grad block costs
    several microseconds per call, and the backward already runs without grad."""
    checked = once_differentiable(backward)

    @wraps(backward)
    def wrapper(ctx, *grads):
        return checked(ctx, *grads) if torch.is_grad_enabled() else backward(ctx, *grads)

    return wrapper


class _NumbaSweeps:
    """The soft-DTW sweeps of a batch of cost matrices on the CPU, with the numba kernels.

    Construction runs the forward recursion (`values`, (B,) float64); `alignment` then runs
    the backward one and `hvp` the Hessian-vector product. Work arrays come from the pool.
    The kernels read and write float64 whatever the caller's dtype (float32 is widened exactly
    and rounded once at the end, as the kernels would): one compiled version each, not two.
    """

    def __init__(self, D: torch.Tensor, gamma: float):
        B, N, M = self.shape = D.shape
        self.gamma = gamma
        self._work = _scratch.Lease((B, N + 2, M + 2, 3), (B, N + 2, M + 2))
        self._P, self._E = self._work.arrays
        values = np.empty(B)
        with KERNEL_LOCK:
            not_finite = _kernels.soft_dtw_forward(
                _kernel_input(D, np.float64), gamma, self._P, values, numba.get_num_threads()
            )
        if not_finite:
            raise NotFiniteError("D")
        self.values = torch.from_numpy(values)

    def alignment(self, scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """scale[b] * E[b], E = d softDTW / dD: a (B, N, M) CPU tensor of `dtype`."""
        out = torch.empty(self.shape, dtype=torch.float64)
        scale = _kernel_input(scale, np.float64)  # often a stride-0 expansion
        with KERNEL_LOCK:
            _kernels.soft_dtw_backward(self._P, scale, self._E, out.numpy())
        return out.to(dtype)

    def hvp(self, Z: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """H Z, H the Hessian of soft-DTW at D: a (B, N, M) CPU tensor of `dtype`. Needs `alignment` first."""
        B, N, M = self.shape
        work = _scratch.Lease((B, N + 2, M + 2), (B, N + 2, M + 2))
        R_dot, E_dot = work.arrays
        out = torch.empty(self.shape, dtype=torch.float64)
        with KERNEL_LOCK:
            _kernels.soft_dtw_hvp(_kernel_input(Z, np.float64), self._P, self._E, self.gamma, R_dot, E_dot, out.numpy())
        return out.to(dtype)


class _TorchSweeps:
    """The same sweeps with the anti-diagonal torch kernels, on D's device (for CUDA)."""

    def __init__(self, D: torch.Tensor, gamma: float):
        check_finite(D, "D")
        B, N, M = self.shape = D.shape
        self.gamma = gamma
        R, self._P = _wavefront.soft_dtw_forward(D.detach().to(torch.float64), gamma)
        self.values = R.view(B, N + 2, M + 2)[:, N, M]

    def alignment(self, scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        B, N, M = self.shape
        self._E = _wavefront.soft_dtw_backward(self._P, N, M)
        E = self._E.view(B, N + 2, M + 2)[:, 1 : N + 1, 1 : M + 1]
        return (scale.to(E)[:, None, None] * E).to(dtype)

    def hvp(self, Z: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        B, N, M = self.shape
        E_dot = _wavefront.soft_dtw_hvp(Z.to(self._E), self._P, self._E, self.gamma)
        return E_dot.view(B, N + 2, M + 2)[:, 1 : N + 1, 1 : M + 1].to(dtype)


def _pick_backend(D: torch.Tensor, backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
    if backend == "auto":
        return "torch" if D.is_cuda else "numba"
    return backend


_SWEEPS = {"numba": _NumbaSweeps, "torch": _TorchSweeps}


class _SoftDTW(torch.autograd.Function):
    """(B, N, M) costs -> soft-DTW values (B,) and expected alignments (B, N, M)."""

    @staticmethod
    def forward(ctx, D, gamma, backend):
        ctx.sweeps = _SWEEPS[backend](D, gamma)
        ones = torch.ones(D.shape[0], dtype=torch.float64, device=ctx.sweeps.values.device)
        alignment = ctx.sweeps.alignment(ones, D.dtype).to(D.device)
        ctx.save_for_backward(alignment)
        ctx.set_materialize_grads(False)  # an output nobody uses gets None: skip its sweep
        return ctx.sweeps.values.to(D.device, D.dtype), alignment

    @staticmethod
    @_once_differentiable
    def backward(ctx, grad_values, grad_alignment):
        (alignment,) = ctx.saved_tensors
        # d softDTW / dD = E.
        grad_D = torch.zeros_like(alignment) if grad_values is None else grad_values[:, None, None] * alignment
        if grad_alignment is not None:
            # d<G, E> / dD = H G, H the (symmetric) Hessian of soft-DTW.
            grad_D += ctx.sweeps.hvp(grad_alignment, grad_D.dtype).to(grad_D.device)
        return grad_D, None, None


class _SoftDTWValue(torch.autograd.Function):
    """(B, N, M) costs -> soft-DTW values (B,); the alignment sweep runs only in the backward."""

    @staticmethod
    def forward(ctx, D, gamma, backend):
        ctx.sweeps = _SWEEPS[backend](D, gamma)
        ctx.device, ctx.dtype = D.device, D.dtype
        return ctx.sweeps.values.to(D.device, D.dtype)

    @staticmethod
    @_once_differentiable
    def backward(ctx, grad_values):
        # d sum_b g_b softDTW(D_b) / dD_b = g_b E_b, written by the alignment sweep itself.
        return ctx.sweeps.alignment(grad_values, ctx.dtype).to(ctx.device), None, None


def _checked_apply(function, D, gamma, backend):
    """function.apply(D, gamma, backend) after checking D, gamma and the backend."""
    check_costs(D)
    gamma = check_gamma(gamma)
    return function.apply(D, gamma, _pick_backend(D, backend))


def soft_dtw(D: torch.Tensor, gamma: float, backend: str = "auto") -> torch.Tensor:
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
    backend : "auto", "numba" or "torch"
        "auto" uses numba for CPU tensors and the anti-diagonal torch kernels on CUDA.

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
    return _checked_apply(_SoftDTWValue, D, gamma, backend)


def soft_alignment(D: torch.Tensor, gamma: float, backend: str = "auto") -> torch.Tensor:
    """Expected alignment E = d softDTW / dD (Cuturi & Blondel 2017, Algorithm 2).

    E[b, i, j] in [0, 1] is the probability that cell (i, j) lies on the alignment path under
    the Gibbs distribution over paths of temperature gamma; as gamma -> 0 it tends to the
    optimal DTW path (a 0/1 matrix). Differentiable: the backward is the Hessian-vector
    product of soft-DTW (Mensch & Blondel, ICML 2018), computed in two sweeps.

    Parameters
    ----------
    D : tensor, shape (B, N, M)
    gamma : float > 0
    backend : "auto", "numba" or "torch"

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
    @_once_differentiable
    def backward(ctx, G):
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


# The most bytes one DILATE call on the CPU keeps for its backward (the softmin weights and the
# tangent of every cell: 16 B per cell for float32 series, 32 B for float64). A larger batch is
# done in groups of series, each group's forward sweep run again in the backward: same result,
# one more forward sweep. Change it here, or per call with dilate_loss(memory_limit=...).
MEMORY_LIMIT = 1 << 30


class _FusedSweeps:
    """The fused kernels of `_fused` on a batch of series pairs, on the CPU: no cost matrix.

    Construction runs the forward sweep: `values` (R[N, M]) and `tangents` (<E, Omega>), (B,)
    float64. When `differentiated`, it keeps what `gradients` reads: the series as the kernels
    take them, and the softmin weights (and tangents when `timed`, i.e. when the backward will
    have a temporal term).
    """

    def __init__(self, pred, target, gamma, memory_limit, differentiated, timed):
        p, t = self.series = _kernel_input(pred), _kernel_input(target)
        self.dtypes = pred.dtype, target.dtype
        B, N, _ = t.shape
        M = p.shape[1]
        self.gamma, self.timed = gamma, timed
        self.store_dtype = p.dtype.type  # float32 weights for float32 series
        self.values_per_series = N * M * _fused.STORED_PER_CELL
        per_series = self.values_per_series * p.itemsize  # bytes
        self.group = max(1, min(B, memory_limit // per_series))  # series per backward group
        self.values, self.tangents = np.empty(B), np.empty(B)
        self.workers = numba.get_num_threads()  # the store's layout depends on it: kept for the backward
        self.lease = None
        if differentiated and self.group == B:  # all at once: store what the backward reads
            self.lease = _scratch.Lease(((B * self.values_per_series,), self.store_dtype))
            store = self.lease.arrays[0]
        else:  # no backward, or one in groups that sweeps each group's forward again, storing
            store = np.empty(0, self.store_dtype)
        with KERNEL_LOCK:
            not_finite = _fused.dilate_forward(
                t, p, gamma, store, self.lease is not None, timed, self.values, self.tangents, self.workers
            )
        if not_finite:
            check_finite(pred, "pred")
            check_finite(target, "target")
            raise NotFiniteError("D")  # finite series, overflowing costs

    def gradients(self, shape_scale, time_scale, want_target):
        """Gradients of sum_b shape_scale[b] values[b] + time_scale[b] tangents[b] as tensors
        of the series' dtypes: pred's (B, M, d) and target's (B, N, d), or None for target's
        when not `want_target`. The kernels write float32 and float64 gradients as they are."""
        p, t = self.series
        B, N, d = t.shape
        pred_dtype, target_dtype = self.dtypes
        # What the kernels write: the dtype of the series as they read them (float64 for dtypes
        # numpy lacks), and an empty target gradient of pred's when none is wanted.
        grad_pred = np.empty((B, p.shape[1], d), p.dtype)
        grad_target = np.empty((B, N, d), t.dtype) if want_target else np.empty((0, 0, 0), p.dtype)
        with KERNEL_LOCK:
            if self.lease is not None:
                store = self.lease.arrays[0]
                args = (store, shape_scale, time_scale, grad_target, grad_pred, self.workers)
                _fused.dilate_backward(t, p, self.gamma, *args)
            else:
                values, tangents = np.empty(self.group), np.empty(self.group)
                work = _scratch.Lease(((self.group * self.values_per_series,), self.store_dtype))
                store = work.arrays[0]
                for first in range(0, B, self.group):
                    part = slice(first, min(B, first + self.group))
                    n = part.stop - first
                    _fused.dilate_forward(
                        t[part], p[part], self.gamma, store, True, self.timed, values[:n], tangents[:n], self.workers
                    )
                    target_part = grad_target[part] if want_target else grad_target
                    args = (store, shape_scale[part], time_scale[part], target_part, grad_pred[part], self.workers)
                    _fused.dilate_backward(t[part], p[part], self.gamma, *args)
        self.lease = None  # the store goes back to the pool
        grad_target = _as_dtype(torch.from_numpy(grad_target), target_dtype) if want_target else None
        return _as_dtype(torch.from_numpy(grad_pred), pred_dtype), grad_target


def _as_dtype(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """tensor.to(dtype), without the call when it already is (a microsecond per loss call)."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


@cache
def _float_max(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).max


def _representable(values, dtype: torch.dtype) -> bool:
    """Whether every float64 value (an array, or a tuple of floats) is finite in dtype (False for NaN too)."""
    if isinstance(values, np.ndarray):
        return _fused.largest_magnitude(values) <= _float_max(dtype)
    return all(abs(x) <= _float_max(dtype) for x in values)


class _FusedDILATE(torch.autograd.Function):
    """(pred (B, M, d), target (B, N, d)) -> DILATE's loss, shape and temporal terms, on the CPU
    with `_FusedSweeps`: one forward sweep, one backward sweep, no cost matrix."""

    @staticmethod
    def forward(ctx, pred, target, alpha, gamma, memory_limit, differentiated):
        sweeps = _FusedSweeps(pred, target, gamma, memory_limit, differentiated, timed=True)
        B, N, M = target.shape[0], target.shape[1], pred.shape[1]
        ctx.save_for_backward(pred, target)
        ctx.sweeps, ctx.alpha = sweeps, alpha
        ctx.set_materialize_grads(False)
        shape = sum(sweeps.values.tolist()) / B  # Python floats: a numpy reduction costs more here
        temporal = sum(sweeps.tangents.tolist()) / (B * N * M)
        out = (alpha * shape + (1 - alpha) * temporal, shape, temporal)
        if not _representable(out, pred.dtype):
            raise NotFiniteError("D")  # costs summed in float64 that the caller's dtype cannot hold
        return tuple(torch.scalar_tensor(x, dtype=pred.dtype) for x in out)

    @staticmethod
    @_once_differentiable
    def backward(ctx, grad_loss, grad_shape, grad_temporal):
        pred, target = ctx.saved_tensors  # unpacked to check they were not changed in place
        B, N, M = target.shape[0], target.shape[1], pred.shape[1]
        g_loss, g_shape, g_time = (0.0 if g is None else float(g) for g in (grad_loss, grad_shape, grad_temporal))
        # d loss = sum_b (alpha g_loss + g_shape) / B dR_b + ((1 - alpha) g_loss + g_time) / (B N M) dT_b
        shape_scale, time_scale = np.empty((2, B))
        shape_scale[:] = (ctx.alpha * g_loss + g_shape) / B
        time_scale[:] = ((1 - ctx.alpha) * g_loss + g_time) / (B * N * M)
        grads = ctx.sweeps.gradients(shape_scale, time_scale, ctx.needs_input_grad[1])
        return (*grads, None, None, None, None)


class _FusedSoftDTW(torch.autograd.Function):
    """(pred (B, M, d), target (B, N, d)) -> soft-DTW of each pair (B,), with `_FusedSweeps`."""

    @staticmethod
    def forward(ctx, pred, target, gamma, memory_limit, differentiated):
        sweeps = _FusedSweeps(pred, target, gamma, memory_limit, differentiated, timed=False)
        if not _representable(sweeps.values, pred.dtype):
            raise NotFiniteError("D")
        ctx.save_for_backward(pred, target)
        ctx.sweeps = sweeps
        values = torch.from_numpy(sweeps.values.astype(sweeps.store_dtype, copy=False))  # numpy casts faster
        return _as_dtype(values, pred.dtype)

    @staticmethod
    @_once_differentiable
    def backward(ctx, grad_values):
        ctx.saved_tensors  # noqa: B018 (unpacked to check the series were not changed in place)
        shape_scale = _kernel_input(grad_values, np.float64)  # often a stride-0 expansion
        grads = ctx.sweeps.gradients(shape_scale, np.zeros(len(shape_scale)), ctx.needs_input_grad[1])
        return (*grads, None, None, None)


def _memory_limit(memory_limit) -> int:
    """The bytes a fused call may keep for its backward: MEMORY_LIMIT or the caller's, checked."""
    return MEMORY_LIMIT if memory_limit is None else check_number("memory_limit", memory_limit, 1, math.inf, True)


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
    backend : "auto", "numba" or "torch"
        "auto": the fused numba kernels for CPU tensors, the anti-diagonal torch kernels on CUDA.
    memory_limit : int, bytes
        On the CPU, the most memory kept between forward and backward (default MEMORY_LIMIT);
        a batch that needs more runs in groups of series, with the same result.

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
    fused = backend in ("auto", "numba") and not pred.is_cuda
    check_series_pair(pred, target, finite=not fused)  # the fused forward flags non-finite values itself
    alpha = check_alpha(alpha)
    if fused:
        gamma = check_gamma(gamma)
        limit = _memory_limit(memory_limit)
        with _costs_of_finite_series:
            return _FusedDILATE.apply(pred, target, alpha, gamma, limit, _differentiated(pred, target))
    D = cost_matrix(target, pred)  # (B, N, M)
    with _costs_of_finite_series:
        values, alignment = _checked_apply(_SoftDTW, D, gamma, backend)
    N, M = D.shape[1:]
    if alpha == 1.0:
        alignment = alignment.detach()  # the temporal term is reported only: skip its backward sweeps
    shape = values.mean()
    temporal = (alignment * _omega(N, M, D.device, D.dtype)).sum(dim=(1, 2)).mean() / (N * M)
    return alpha * shape + (1 - alpha) * temporal, shape, temporal


def soft_dtw_series(
    pred: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 0.01,
    backend: str = "auto",
    memory_limit: int | None = None,
) -> torch.Tensor:
    """Soft-DTW between each forecast and its target, on squared Euclidean costs.

    values[b] = softDTW_gamma(D_b) with D_b = cost_matrix(target, pred)[b]: the same numbers as
    `soft_dtw(cost_matrix(target, pred), gamma)`, but on the CPU without forming D, through the
    fused kernels of `dilate_loss` (with no temporal term to carry).

    Parameters
    ----------
    pred : tensor, shape (B, M, d)
    target : tensor, shape (B, N, d), same B and d
    gamma : float > 0
    backend : "auto", "numba" or "torch", as in `dilate_loss`
    memory_limit : int, bytes, as in `dilate_loss`

    Returns
    -------
    values : tensor, shape (B,), pred's dtype and device; differentiable with respect to both series.

    Examples
    --------
    >>> series = torch.tensor([[[0.0], [1.0]]])
    >>> soft_dtw_series(series, series, gamma=1.0)  # below DTW's 0, as soft-DTW is
    tensor([-0.5514])
    """
    fused = backend in ("auto", "numba") and not pred.is_cuda
    check_series_pair(pred, target, finite=not fused)
    gamma = check_gamma(gamma)
    with _costs_of_finite_series:
        if fused:
            return _FusedSoftDTW.apply(pred, target, gamma, _memory_limit(memory_limit), _differentiated(pred, target))
        return _checked_apply(_SoftDTWValue, cost_matrix(target, pred), gamma, backend)


TANGLED_OMEGAS = ("weighted", "band")
# Omega outside the Sakoe-Chiba band. A path through such a cell has a softmin weight of
# exp(-BLOCKED / gamma) = 0 next to any path inside the band, as if the cost were infinite,
# while the kernels' check for non-finite costs still catches real overflow.
BLOCKED = 1e10


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


def soft_dtw_divergence(pred: torch.Tensor, target: torch.Tensor, gamma: float = 0.01) -> torch.Tensor:
    """Soft-DTW divergence (Blondel, Mensch & Vert, AISTATS 2021), one value per series.

    div(x, y) = sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2 with sdtw on squared Euclidean
    costs. Unlike soft-DTW it is >= 0 and 0 exactly when x = y; as gamma -> 0 it tends to
    DTW(x, y) (the self-alignments then cost 0).

    pred : (B, M, d), target : (B, N, d) -> (B,) values, pred's dtype and device; differentiable.

    Examples
    --------
    >>> x = torch.tensor([[[0.0], [1.0], [1.0]]])
    >>> soft_dtw_divergence(x, x, gamma=0.1)
    tensor([0.])
    """
    cross = soft_dtw_series(pred, target, gamma)
    return cross - (soft_dtw_series(target, target, gamma) + soft_dtw_series(pred, pred, gamma)) / 2
