"""Reusable float64 work arrays for the kernels.

Touching freshly allocated memory (page faults) costs more than the soft-DTW recursion itself
at the paper's sizes, and far more inside virtual machines, so the kernels' work arrays go
back to a free list when the object that leased them is collected and are handed out again.
"""

import queue
import threading
from collections import defaultdict

import numpy as np

# Arrays beyond this many free bytes are left to the allocator. A DILATE step at B = 32,
# N = M = 1000 leases 1.5 GB (P, E and the two tangents), which would otherwise fault in again
# at every step, about 0.2 s here.
_MAX_POOLED_BYTES = 2 << 30
_lock = threading.Lock()
_free: dict[tuple[tuple[int, ...], type], list[np.ndarray]] = defaultdict(list)
_free_bytes = 0
# Arrays of leases collected while the free lists were busy. The garbage collector runs at any
# allocation, also one made while this thread holds _lock; waiting for _lock there would wait
# forever, so such arrays are parked here (SimpleQueue.put is reentrant) and filed by the next _take.
_parked: queue.SimpleQueue = queue.SimpleQueue()


def _file(array: np.ndarray) -> None:
    """Put a returned array on its free list, within the byte cap. Call with _lock held."""
    global _free_bytes
    if _free_bytes + array.nbytes <= _MAX_POOLED_BYTES:
        _free[(array.shape, array.dtype.type)].append(array)
        _free_bytes += array.nbytes


def _take(shape: tuple[int, ...], dtype) -> np.ndarray:
    global _free_bytes
    with _lock:
        while not _parked.empty():
            _file(_parked.get_nowait())
        stack = _free.get((shape, dtype))
        if stack:
            array = stack.pop()
            _free_bytes -= array.nbytes
            return array
    return np.empty(shape, dtype=dtype)


def _give(array: np.ndarray) -> None:
    """Return an array to the pool without ever waiting: safe from __del__ in any thread."""
    if _lock.acquire(blocking=False):
        try:
            _file(array)
        finally:
            _lock.release()
    else:
        _parked.put(array)


class Lease:
    """Work arrays of the given shapes (float64 unless a shape is given as (shape, dtype)).

    `lease.arrays` holds them, in order; they return to the pool when the lease is collected,
    so a lease must live exactly as long as something reads its arrays.
    """

    def __init__(self, *shapes):
        self.arrays = [_take(*spec) if isinstance(spec[0], tuple) else _take(spec, np.float64) for spec in shapes]

    def __del__(self):
        for array in self.arrays:
            _give(array)
