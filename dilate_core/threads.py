"""How many threads the CPU kernels use: torch's count unless told otherwise, and one pin for a process.

numba starts a pool of one thread per core, and a parallel kernel uses all of them by default.
On cores shared by several processes (parallel trials, a sweep's workers, a web server's
jobs) their idle threads spin against each other and a call takes ten times longer. So a
loss call runs its kernels on at most `kernel_threads()` threads: torch.get_num_threads(),
the count the caller already gave torch (torch.set_num_threads, OMP_NUM_THREADS), unless
`set_kernel_threads(n)` says otherwise. A call sets numba's count (numba.set_num_threads, for
the calling thread) to that number when it differs, and leaves it there.
"""

_chosen: int | None = None  # set_kernel_threads' count; None: follow torch


def set_kernel_threads(threads: int | None) -> None:
    """Run the numba kernels of later calls on `threads` threads (at most numba's pool, NUMBA_NUM_THREADS);
    None: as many as torch.get_num_threads(), the default."""
    global _chosen
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a whole number >= 1 or None, got {threads!r}.")
    _chosen = threads


def kernel_threads() -> int:
    """The numba threads one kernel call uses: `set_kernel_threads`' count, or torch.get_num_threads(),
    never more than numba's pool."""
    import numba
    import torch

    return max(1, min(_chosen or torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def pin_threads(threads: int) -> None:
    """Cap this process's torch and numba thread pools at `threads` each: for a worker process
    that shares the machine's cores with others (both pools, or numba's idle threads still spin)."""
    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
