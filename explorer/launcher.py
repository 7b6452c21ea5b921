"""Starting the processes that training jobs run in, on this machine, and keeping spares ready.

`LocalLauncher` is what `explorer.jobs.JobPool` asks for a job's channel and stop event and for a
process to run it; explorer.ray_jobs offers the same methods for a Ray cluster. A process runs
`explorer.worker`'s code; it starts below the web server's priority, lowered from here at once.
"""

import contextlib
import logging
import multiprocessing
import os
import threading
from collections import deque

from dilate_lab._spawn import bare_main
from explorer.limits import LimitError
from explorer.worker import WORKER_NICENESS, JobSpec, run_job, wait_for_a_job

log = logging.getLogger(__name__)


def _start_worker(process) -> None:
    """Start a worker process and lower its priority from the parent at once: a spawned process
    imports torch to unpickle its target before that target can lower it, a second or two of
    a core taken from the web server, at every job's end when a new spare starts."""
    with bare_main():
        process.start()
    with contextlib.suppress(OSError):  # ended already, or a priority this process may not give
        niceness = max(os.getpriority(os.PRIO_PROCESS, process.pid), WORKER_NICENESS)
        os.setpriority(os.PRIO_PROCESS, process.pid, niceness)


def _send_and_close(connection, message) -> None:
    with contextlib.suppress(OSError):  # the spare died before reading it: the pool fails the job
        connection.send(message)
    connection.close()


class LocalLauncher:
    """Starts jobs as spawned processes of this machine; their channels and stop events go
    through a multiprocessing Manager. Another launcher (explorer.ray_jobs) runs them on a
    cluster: it offers the same methods (channel_and_stop, start, refill, shutdown), and its
    `start` returns an object with the Process methods the pool uses (exitcode, is_alive, terminate).

    `spares` processes wait ready (torch imported, kernels loaded): a job goes to the first
    live one and a new spare starts behind it; a spare that died is replaced; with none alive
    the job starts a fresh process. Every job still has a process of its own, which ends with it.

    The Manager and the first spares start in a thread of their own, after `after()` returns
    (the server: once its kernels are compiled, so that a spare loads them instead of compiling
    them beside the compiler): building the launcher never waits, its first job does.
    """

    def __init__(self, spares: int = 1, after=None):
        self._context = multiprocessing.get_context("spawn")
        self.spares = spares
        self._ready: deque = deque()  # (process, connection) of the spares, oldest first
        self._manager = None
        self._up = threading.Event()
        self._after = after
        threading.Thread(target=self._start_up, name="dilate-launcher", daemon=True).start()

    def _start_up(self) -> None:
        try:
            if self._after is not None:
                self._after()
        except Exception:  # the launcher starts all the same: its spares compile what they miss
            log.exception("waiting to start the job processes failed")
        try:
            with bare_main():
                self._manager = self._context.Manager()  # queues and events that can travel to the workers
            self._refill()
        except Exception:  # every job is refused with a message, none waits for ever
            log.exception("starting the job processes failed")
        finally:
            self._up.set()

    def channel_and_stop(self):
        self._up.wait()
        if self._manager is None:
            raise LimitError("The server could not start its training processes; its log says why.")
        return self._manager.Queue(), self._manager.Event()

    def spare_pids(self) -> list[int]:
        """The process ids of the spares started so far (alive or not yet found dead)."""
        self._up.wait()
        return [process.pid for process, _ in self._ready]

    def refill(self) -> None:
        """Replace spares that died and start new ones up to `spares` (the pool calls it often;
        nothing to do before the launcher is up)."""
        if self._up.is_set():
            self._refill()

    def _refill(self) -> None:
        self._ready = deque((p, c) for p, c in self._ready if p.is_alive())
        while len(self._ready) < self.spares:
            parent, child = self._context.Pipe()
            process = self._context.Process(target=wait_for_a_job, args=(child,), daemon=True)
            _start_worker(process)
            child.close()
            self._ready.append((process, parent))
            log.info("spare process %d started", process.pid)

    def start(self, spec: JobSpec):
        self._up.wait()
        process = None
        while self._ready and process is None:
            spare, connection = self._ready.popleft()
            if spare.is_alive():
                # A spare still warming up reads the job only when it is ready, and the data set
                # fills the pipe: send from a thread, so that neither the page that submits nor
                # the pool's lock waits for the spare (a spare that dies first fails the job).
                threading.Thread(target=_send_and_close, args=(connection, spec), daemon=True).start()
                process = spare
            else:
                connection.close()
        if process is None:  # no spare alive: a cold start
            process = self._context.Process(target=run_job, args=(spec,), daemon=True)
            _start_worker(process)
        self.refill()
        return process

    def shutdown(self) -> None:
        self._up.wait()
        for process, connection in self._ready:
            connection.close()
            process.terminate()  # a spare holds nothing but loaded code
            process.join(timeout=5)
        self._ready.clear()
        if self._manager is not None:
            self._manager.shutdown()
