"""The app's training jobs on a Ray cluster: a launcher for `JobPool` (DILATE_RAY_ADDRESS).

Each job is one Ray task running the same `run_job` as a local worker process, in a Ray worker
that exits after it (max_calls=1), asking for the pool's threads per job as CPUs. Its reports
come back through a Ray queue (an actor) and its stop flag is another, so live charts, Stop and
a closed session's cancel work as they do locally; the pool's limits (jobs running at once,
queued per visitor and in all) hold unchanged. The address-space limit of local workers is not
applied in a Ray worker (its own mappings are large); ask Ray for memory per job instead.
"""

import contextlib
import logging
import signal
import threading
from dataclasses import replace

import ray
from ray.util.queue import Full, Queue

from explorer.worker import JobSpec, run_job

log = logging.getLogger(__name__)


class _RayEvent:
    """A stop flag that travels to a Ray task: set() once, is_set() from anywhere."""

    def __init__(self):
        self._flag = Queue(maxsize=1)

    def set(self) -> None:
        with contextlib.suppress(Full):  # Full: already set
            self._flag.put_nowait(True)

    def is_set(self) -> bool:
        return not self._flag.empty()


class _RayProcess:
    """A Ray task seen through the Process methods `JobPool` uses."""

    def __init__(self, reference):
        self._reference = reference

    @property
    def exitcode(self) -> int | None:
        ready, _ = ray.wait([self._reference], timeout=0)
        if not ready:
            return None
        try:
            ray.get(self._reference)
        except Exception:  # the task failed outside run_job's own reporting, or was cancelled
            log.warning("a Ray job task ended in error", exc_info=True)
            return 1
        return 0

    def is_alive(self) -> bool:
        return self.exitcode is None

    def terminate(self) -> None:
        ray.cancel(self._reference, force=True)


class RayLauncher:
    """Starts `JobPool` jobs as Ray tasks on the cluster at `address`."""

    def __init__(self, address: str, threads: int = 1):
        if not ray.is_initialized():
            in_main_thread = threading.current_thread() is threading.main_thread()
            previous = signal.getsignal(signal.SIGTERM) if in_main_thread else None
            ray.init(address=address, log_to_driver=False)
            log.info("training jobs run on the Ray cluster at %s", address)
            if in_main_thread:  # ray.init replaces it; the server's own shutdown must keep working
                signal.signal(signal.SIGTERM, previous)
        self._run = ray.remote(num_cpus=threads, max_calls=1, max_retries=0)(run_job)

    def channel_and_stop(self):
        return Queue(), _RayEvent()

    def start(self, spec: JobSpec) -> _RayProcess:
        # The address-space limit is not applied in a Ray worker (see the module's docstring).
        return _RayProcess(self._run.remote(replace(spec, memory_mb=None)))

    def refill(self) -> None:
        """Nothing to keep ready: the cluster's own workers are its spares."""

    def shutdown(self) -> None:
        """Nothing to release: the cluster outlives the server."""
