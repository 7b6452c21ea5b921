"""The back-ends under the public losses: numba sweeps on the CPU, anti-diagonal torch sweeps on CUDA.

Three sweep classes run the recursions of soft-DTW for `dilate_core.losses`' autograd
Functions: `_NumbaSweeps` (numba kernels on a cost matrix), `_TorchSweeps` (the torch kernels
of `_wavefront`, for CUDA; the same on CPU tensors with backend="torch") and `_FusedSweeps`
(the fused DILATE kernels of `_fused`, which never form the cost matrix). Here too: the lock
under which every numba kernel runs, on at most `threads.kernel_threads()` threads; the
conversion of tensors to the kernels' arrays; the memory a fused call may keep; and the
dtypes the kernels write (float32 series run the fused kernels in float32, every other input
in float64).
"""

import threading
from functools import cache

import numba
import numpy as np
import torch

from dilate_core import _fused, _kernels, _scratch, _wavefront
from dilate_core._validate import NotFiniteError, check_finite
from dilate_core.threads import kernel_threads


class _KernelLock:
    """Held around every call of a numba kernel: calls from threads take turns (numba's parallel
    kernels are parallel inside already, and its 'workqueue' threading layer aborts when two
    threads launch them at once), and each runs on `kernel_threads()` threads. numba's count is
    set only when it differs, and left so (setting and restoring it costs 15-30 us, a tenth of a
    small loss call). (A class: a generator-based context manager costs microseconds.)"""

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        self._lock.acquire()
        wanted = kernel_threads()
        if numba.get_num_threads() != wanted:
            numba.set_num_threads(wanted)
        return self

    def __exit__(self, *error):
        self._lock.release()
        return False


KERNEL_LOCK = _KernelLock()


def _kernel_input(tensor: torch.Tensor, dtype=None) -> np.ndarray:
    """A C-contiguous array holding the tensor's values, for the numba kernels: of `dtype`, or
    float32 or float64 as the tensor is (float64 for other dtypes). Copies only what must be."""
    if tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.double()
    return np.ascontiguousarray(tensor.numpy(force=True), dtype)


class _NumbaSweeps:
    """The soft-DTW sweeps of a batch of cost matrices on the CPU, with the numba kernels.

    Construction runs the forward recursion (`values`, (B,) float64); `alignment` then runs
    the backward one and `hvp` the Hessian-vector product. Work arrays come from the pool.
    The kernels read and write float64 whatever the caller's dtype (float32 is widened exactly
    and rounded once at the end, as the kernels would): one compiled version each, not two.
    """

    def __init__(self, D: torch.Tensor, gamma: float, ends=None):
        if ends is not None:
            raise ValueError("lengths need the fused kernels (dilate_loss on the CPU) or backend='torch'.")
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
    """The same sweeps with the anti-diagonal torch kernels, on D's device (for CUDA).

    ends : None, or (rows, columns), two (B,) integer tensors: series b ends at cell
    (rows[b], columns[b]) of its grid, its value read there and its alignment zero beyond.
    """

    def __init__(self, D: torch.Tensor, gamma: float, ends=None):
        check_finite(D, "D")
        B, N, M = self.shape = D.shape
        self.gamma = gamma
        R, self._P = _wavefront.soft_dtw_forward(D.detach().to(torch.float64), gamma)
        R = R.view(B, N + 2, M + 2)
        if ends is None:
            self.values, self._masks = R[:, N, M], None
        else:
            rows, columns = (end.to(D.device) for end in ends)
            self.values = R[torch.arange(B, device=D.device), rows, columns]
            self._masks = _wavefront.end_masks(rows, columns, N, M)

    def alignment(self, scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        B, N, M = self.shape
        self._E = _wavefront.soft_dtw_backward(self._P, N, M, self._masks)
        E = self._E.view(B, N + 2, M + 2)[:, 1 : N + 1, 1 : M + 1]
        return (scale.to(E)[:, None, None] * E).to(dtype)

    def hvp(self, Z: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        B, N, M = self.shape
        E_dot = _wavefront.soft_dtw_hvp(Z.to(self._E), self._P, self._E, self.gamma, self._masks)
        return E_dot.view(B, N + 2, M + 2)[:, 1 : N + 1, 1 : M + 1].to(dtype)


_SWEEPS = {"numba": _NumbaSweeps, "torch": _TorchSweeps}

_NO_ENDS = np.empty(0, np.int64)  # every pair scored whole


class _FusedSweeps:
    """The fused kernels of `_fused` on a batch of series pairs, on the CPU: no cost matrix.

    Construction runs the forward sweep: `values` (R[N, M]) and `tangents` (<E, Omega>), (B,)
    float64. When `differentiated`, it keeps what `gradients` reads: the series as the kernels
    take them, and the softmin weights (and tangents when `timed`, i.e. when the backward will
    have a temporal term). ends : None, or (target_ends, pred_ends), (B,) int64 arrays: pair b
    is scored on its first target_ends[b] and pred_ends[b] steps, R and T read at that cell
    (what follows it in the series must be finite; its gradient is zero).
    """

    def __init__(self, pred, target, gamma, memory_limit, differentiated, timed, ends=None):
        p, t = self.series = _kernel_input(pred), _kernel_input(target)
        self.ends = (_NO_ENDS, _NO_ENDS) if ends is None else ends
        self.dtypes = pred.dtype, target.dtype
        B, N, _ = t.shape
        M = p.shape[1]
        self.gamma, self.timed = gamma, timed
        self.store_dtype = p.dtype.type  # float32 weights for float32 series
        self.values_per_series = N * M * _fused.STORED_PER_CELL
        per_series = self.values_per_series * p.itemsize  # bytes
        self.group = max(1, min(B, memory_limit // per_series))  # series per backward group
        self.values, self.tangents = np.empty(B), np.empty(B)
        self.lease = None
        if differentiated and self.group == B:  # all at once: store what the backward reads
            self.lease = _scratch.Lease(((B * self.values_per_series,), self.store_dtype))
            store = self.lease.arrays[0]
        else:  # no backward, or one in groups that sweeps each group's forward again, storing
            store = np.empty(0, self.store_dtype)
        with KERNEL_LOCK:
            self.workers = numba.get_num_threads()  # the store's layout depends on it: kept for the backward
            not_finite = _fused.dilate_forward(
                t, p, gamma, store, self.lease is not None, timed, *self.ends, self.values, self.tangents, self.workers
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
                args = (store, *self.ends, shape_scale, time_scale, grad_target, grad_pred, self.workers)
                _fused.dilate_backward(t, p, self.gamma, *args)
            else:
                values, tangents = np.empty(self.group), np.empty(self.group)
                work = _scratch.Lease(((self.group * self.values_per_series,), self.store_dtype))
                store = work.arrays[0]
                for first in range(0, B, self.group):
                    part = slice(first, min(B, first + self.group))
                    n = part.stop - first
                    ends = tuple(end[part] for end in self.ends)  # empty stays empty
                    _fused.dilate_forward(
                        t[part],
                        p[part],
                        self.gamma,
                        store,
                        True,
                        self.timed,
                        *ends,
                        values[:n],
                        tangents[:n],
                        self.workers,
                    )
                    target_part = grad_target[part] if want_target else grad_target
                    args = (
                        store,
                        *ends,
                        shape_scale[part],
                        time_scale[part],
                        target_part,
                        grad_pred[part],
                        self.workers,
                    )
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
