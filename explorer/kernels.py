"""The server's numba kernels, compiled in the background in the order pages need them.

A child process compiles one group of `explorer.kernel_plan.KERNEL_GROUPS` at a time into numba's disk
cache (using a core the web server does not wait on); this process then loads that group from
the cache, a fraction of a second. A page asks for the groups it needs: they go to the front of
the queue, and the page waits only for them. Pages that need no kernel never wait.
"""

import logging
import multiprocessing
import os
import threading
import time

from dilate_lab._spawn import bare_main
from explorer import kernel_plan

log = logging.getLogger(__name__)

COMPILER_NICENESS = 5  # below the web server, above the training jobs
APP_GROUPS = kernel_plan.KERNEL_GROUPS  # every group the app calls, in the order it needs them


def _compile_in_child(connection) -> None:
    """Child side: compile each group named on the pipe into the disk cache, and say so."""
    os.nice(COMPILER_NICENESS)
    while True:
        try:
            group = connection.recv()
        except (EOFError, OSError):
            return
        if group is None:
            return
        kernel_plan.warm((group,))
        connection.send(group)


def cached_on_disk() -> bool:
    """Whether numba's disk cache holds an index for every public kernel: then this process loads
    them itself, sooner than a child process could start (a kernel missing from an index still
    compiles, here). False when numba's cache is laid out otherwise than this reads it."""
    from numba.core.dispatcher import Dispatcher

    from dilate_core import _fused, _kernels

    public = [
        kernel
        for module in (_kernels, _fused)
        for name, kernel in vars(module).items()
        if isinstance(kernel, Dispatcher) and not name.startswith("_")
    ]
    public = [kernel for kernel in public if kernel.targetoptions.get("inline") != "always"]  # inlined helpers
    try:
        return all(os.path.exists(kernel._cache._cache_file._index_path) for kernel in public)
    except AttributeError:
        return False


class Compiler:
    """Compiles each of the app's kernel groups once, in the background, most wanted first (see `want`)."""

    def __init__(self, groups=APP_GROUPS, in_child: bool = True, then=None):
        self._queue = list(groups)  # groups not yet started, the next one first
        self._ready = {group: threading.Event() for group in groups}
        self.seconds: dict[str, float] = {}  # group -> seconds it took to be ready here
        self._lock = threading.Lock()
        self._in_child, self._then = in_child, then
        self._thread = threading.Thread(target=self._run, name="dilate-kernels", daemon=True)
        self._thread.start()

    def ready(self, groups) -> bool:
        return all(self._ready[group].is_set() for group in groups)

    def want(self, groups) -> None:
        """Move these groups to the front of the queue, the first named first."""
        with self._lock:
            for group in reversed(groups):
                if group in self._queue:
                    self._queue.remove(group)
                    self._queue.insert(0, group)

    def wait(self, groups, timeout: float | None = None, wanted: bool = True) -> bool:
        """Want these groups (unless not `wanted`: they keep their place in the queue) and wait
        until they are loaded here; False on timeout."""
        if wanted:
            self.want(groups)
        deadline = None if timeout is None else time.monotonic() + timeout
        for group in groups:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._ready[group].wait(left):
                return False
        return True

    def _next(self) -> str | None:
        with self._lock:
            return self._queue.pop(0) if self._queue else None

    def _run(self) -> None:
        child = connection = None
        if self._in_child and not cached_on_disk():
            try:
                context = multiprocessing.get_context("spawn")
                connection, child_end = context.Pipe()
                child = context.Process(target=_compile_in_child, args=(child_end,), daemon=True)
                with bare_main():
                    child.start()
                child_end.close()
            except OSError:
                log.warning("cannot start the kernel compiler's process; compiling in the server", exc_info=True)
                child = None
        while (group := self._next()) is not None:
            began = time.perf_counter()
            if child is not None:
                try:
                    connection.send(group)
                    connection.recv()  # compiled into the disk cache
                except (EOFError, OSError):
                    log.warning("the kernel compiler's process ended (exit code %s); compiling here", child.exitcode)
                    child = None
            try:
                kernel_plan.warm((group,))  # loads from the disk cache, or compiles here
            except Exception:
                log.exception("compiling the kernel group %r failed", group)
            self.seconds[group] = time.perf_counter() - began
            log.info("kernels %r ready in %.1f s", group, self.seconds[group])
            self._ready[group].set()
        if child is not None:
            connection.send(None)
            child.join(timeout=10)
        if self._then is not None:
            self._then()
