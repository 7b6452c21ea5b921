"""Training jobs in worker processes, a bounded number at a time, shared by every session.

A job is one run of the three losses on one data set. It runs in its own spawned process
(never in a page's script thread), streams one report per epoch back through a queue, and can
be stopped between epochs. Jobs belong to the session that submitted them: a session sees and
stops only its own. A process that dies fails its job alone, and its slot goes to the next
job. A job's final state is a checkpoint (bytes) that can be continued.
"""

import contextlib
import io
import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field

from dilate_core._spawn import bare_main
from dilate_core.data import Dataset
from dilate_core.train import Config

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINAL_STATES = (DONE, STOPPED, FAILED)


class LimitError(ValueError):
    """A request over one of the server's limits; the message says which and what to change."""


WORKER_NICENESS = 10  # the web server (pages, health checks) goes first when the cores are busy


def _lower_priority() -> None:
    os.nice(max(0, WORKER_NICENESS - os.nice(0)))


def _start_worker(process) -> None:
    """Start a worker process and lower its priority from the parent at once: a spawned process
    imports torch to unpickle its target before that target can lower it, a second or two of
    a core taken from the web server, at every job's end when a new spare starts."""
    with bare_main():
        process.start()
    with contextlib.suppress(OSError):  # ended already, or a priority this process may not give
        niceness = max(os.getpriority(os.PRIO_PROCESS, process.pid), WORKER_NICENESS)
        os.setpriority(os.PRIO_PROCESS, process.pid, niceness)


def _address_space_bytes() -> int:
    """This process's virtual memory size (what RLIMIT_AS bounds), from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def run_job(config: dict, dataset: Dataset, checkpoint, epochs: int, channel, stop, threads: int, memory_mb):
    """Worker side: train, putting ('started'|'report'|'finished'|'failed', payload) on `channel`."""
    _lower_priority()
    try:
        if memory_mb:  # a runaway job fails alone instead of exhausting the server
            import resource

            limit = memory_mb * 2**20
            # A spare has loaded torch already: a limit below what it holds would make any later
            # allocation fail anywhere (in a thread too, hanging the job), so say so at once.
            held = _address_space_bytes()
            if held > limit:
                raise MemoryError(f"loading torch and the kernels alone takes {held / 2**20:.0f} MB")
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        import dilate_core  # imported here: the process is spawned fresh
        from dilate_core.threads import pin_threads
        from dilate_core.train import Trainer

        # Both pools of threads, torch's and numba's: with numba at its default (every core) in each of
        # several jobs, their idle threads spin against each other and an epoch takes 10-20 times longer.
        pin_threads(threads)
        dilate_core.warmup()
        if checkpoint is None:
            trainer = Trainer(Config.from_dict(config), dataset)
        else:
            trainer = Trainer.load(io.BytesIO(checkpoint), dataset)
        channel.put(("started", os.getpid()))
        if checkpoint is None:  # the first chart need not wait for the first epoch
            channel.put(("report", asdict(trainer.initial_report())))
        for report in trainer.run(epochs):
            channel.put(("report", asdict(report)))
            if stop.is_set():
                break
        buffer = io.BytesIO()
        trainer.save(buffer)
        channel.put(("finished", buffer.getvalue()))
    except Exception as error:  # reported to the job's session, never raised in the server
        message = f"{type(error).__name__}: {error}"
        if memory_mb and isinstance(error, (MemoryError, ImportError, OSError)):  # out of address space
            message = f"the run needed more than the {memory_mb} MB a job may use ({message}); use less data"
        channel.put(("failed", message))


def wait_for_a_job(connection) -> None:
    """A spare worker: load torch and the compiled kernels now, then run the one job it is sent
    (or end on None or a closed pipe). Spares spend the seconds of a cold start before a visitor
    presses Start, not after."""
    _lower_priority()
    import dilate_core
    from dilate_core.data import make_synthetic
    from dilate_core.train import Trainer

    dilate_core.warmup()
    # One tiny epoch pays for what torch initialises on first use (the first Adam alone takes a second).
    tiny = Config(n_series=4, batch_size=4, hidden=4, epochs=1, n_preview=0)
    list(Trainer(tiny, make_synthetic(4, tiny.n_input, tiny.n_output)).run())
    try:
        arguments = connection.recv()
    except (EOFError, OSError):
        return
    if arguments is not None:
        run_job(*arguments)


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
    """

    def __init__(self, spares: int = 1):
        self._context = multiprocessing.get_context("spawn")
        with bare_main():
            self._manager = self._context.Manager()  # queues and events that can travel to the workers
        self.spares = spares
        self._ready: deque = deque()  # (process, connection) of the spares, oldest first
        self.refill()

    def channel_and_stop(self):
        return self._manager.Queue(), self._manager.Event()

    def spare_pids(self) -> list[int]:
        """The process ids of the spares started so far (alive or not yet found dead)."""
        return [process.pid for process, _ in self._ready]

    def refill(self) -> None:
        """Replace spares that died and start new ones up to `spares` (the pool calls it often)."""
        self._ready = deque((p, c) for p, c in self._ready if p.is_alive())
        while len(self._ready) < self.spares:
            parent, child = self._context.Pipe()
            process = self._context.Process(target=wait_for_a_job, args=(child,), daemon=True)
            _start_worker(process)
            child.close()
            self._ready.append((process, parent))

    def start(self, arguments: tuple):
        process = None
        while self._ready and process is None:
            spare, connection = self._ready.popleft()
            if spare.is_alive():
                # A spare still warming up reads the job only when it is ready, and the data set
                # fills the pipe: send from a thread, so that neither the page that submits nor
                # the pool's lock waits for the spare (a spare that dies first fails the job).
                threading.Thread(target=_send_and_close, args=(connection, arguments), daemon=True).start()
                process = spare
            else:
                connection.close()
        if process is None:  # no spare alive: a cold start
            process = self._context.Process(target=run_job, args=arguments, daemon=True)
            _start_worker(process)
        self.refill()
        return process

    def shutdown(self) -> None:
        for process, connection in self._ready:
            connection.close()
            process.terminate()  # a spare holds nothing but loaded code
            process.join(timeout=5)
        self._ready.clear()
        self._manager.shutdown()


@dataclass
class Job:
    """The app's view of one job, kept up to date by its `JobPool`."""

    id: int
    owner: str  # the session that submitted it
    config: Config
    epochs: int  # epochs this job adds
    start_epoch: int  # epochs already trained (a continued run)
    state: str = QUEUED
    reports: list[dict] = field(default_factory=list)
    checkpoint: bytes | None = None
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    pid: int | None = None  # the worker process's id, once it has started
    _arguments: tuple = ()
    _channel: object = None
    _stop: object = None
    _process: object = None

    @property
    def epoch(self) -> int:
        """Epochs trained so far, counting those of the run it continues."""
        return self.reports[-1]["epoch"] if self.reports else self.start_epoch

    def seconds_left(self) -> float | None:
        """Estimated seconds to the last epoch, from the mean epoch time so far."""
        trained = [r for r in self.reports if r["train"]]  # not the report before training
        done = len(trained)
        if not done or self.state != RUNNING:
            return None
        mean = sum(r["seconds"] for r in trained) / done
        return mean * (self.epochs - done)


class JobPool:
    """At most `workers` jobs running at once, each in its own process; the rest wait in order.

    Limits: `max_queued_per_owner` unfinished jobs per session, `max_queued` unfinished jobs in
    all, `memory_mb` of address space per job process (None: no limit).
    """

    def __init__(
        self,
        workers: int | None = None,
        threads_per_worker: int = 1,
        max_queued_per_owner: int = 2,
        max_queued: int = 32,
        memory_mb: int | None = None,
        launcher=None,
    ):
        self.workers = workers or os.cpu_count() or 1
        self.threads_per_worker = threads_per_worker
        self.max_queued_per_owner, self.max_queued, self.memory_mb = max_queued_per_owner, max_queued, memory_mb
        self._launcher = launcher or LocalLauncher()
        self._jobs: dict[int, Job] = {}
        self._waiting: deque[Job] = deque()
        self._unreaped: dict[int, Job] = {}  # jobs whose process has not been seen to exit
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._scheduler = threading.Thread(target=self._schedule_forever, name="dilate-jobs", daemon=True)
        self._scheduler.start()

    def submit(
        self,
        owner: str,
        config: Config,
        dataset: Dataset,
        epochs: int,
        checkpoint: bytes | None = None,
        start_epoch: int = 0,
    ) -> Job:
        """Queue a job for `owner`; it starts when a worker is free. Raises LimitError when full."""
        with self._lock:
            unfinished = [job for job in self._jobs.values() if job.state not in FINAL_STATES]
            mine = sum(1 for job in unfinished if job.owner == owner)
            if mine >= self.max_queued_per_owner:
                raise LimitError(
                    f"You already have {mine} unfinished run(s), the most one visitor may have; stop one first."
                )
            if len(unfinished) >= self.max_queued:
                raise LimitError(f"The server is busy with {len(unfinished)} runs; try again in a few minutes.")
            job = Job(next(self._ids), owner, config, epochs, start_epoch)
            job._channel, job._stop = self._launcher.channel_and_stop()
            job._arguments = (asdict(config), dataset, checkpoint, epochs, job._channel, job._stop)
            self._jobs[job.id] = job
            self._waiting.append(job)
        self._schedule()
        return job

    def get(self, owner: str, job_id: int) -> Job | None:
        """The job if it exists and belongs to `owner`, else None: sessions never see each other's jobs."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def jobs(self, owner: str) -> list[Job]:
        return [job for job in self._jobs.values() if job.owner == owner]

    def poll(self, job: Job) -> Job:
        """The job with every report that has arrived so far."""
        with self._lock:
            self._drain(job)
        return job

    def awaiting_first_report(self, job: Job) -> bool:
        """Whether the job is with a worker (started, or handed over and about to say so) and has
        not reported yet: its first report comes within a fraction of a second. False for a job
        still waiting for a worker, and for one that reported or ended."""
        if job.reports:
            return False
        return job.state == RUNNING or (job.state == QUEUED and not self.place_in_queue(job))

    def place_in_queue(self, job: Job) -> int:
        """1 for the next job to start, 0 if it is not waiting."""
        with self._lock:
            return list(self._waiting).index(job) + 1 if job in self._waiting else 0

    def stop(self, owner: str, job_id: int) -> bool:
        """Ask the owner's job to stop after its current epoch (or not to start); False if not theirs."""
        job = self.get(owner, job_id)
        if job is None:
            return False
        job._stop.set()
        with self._lock:
            if job in self._waiting:  # never started: it ends as it was
                self._waiting.remove(job)
                job.state, job.checkpoint = STOPPED, job._arguments[2]
        return True

    def stop_all(self, owner: str) -> None:
        """Stop every job of an owner, e.g. when its session ends."""
        for job in self.jobs(owner):
            if job.state not in FINAL_STATES:
                self.stop(owner, job.id)

    def shutdown(self) -> None:
        self._closed.set()
        with self._lock:
            for job in self._jobs.values():
                if job._process is not None and job._process.is_alive():
                    job._process.terminate()
        self._launcher.shutdown()

    def _drain(self, job: Job) -> None:
        self._take_messages(job)
        process = job._process
        if job.state not in FINAL_STATES and process is not None and process.exitcode is not None:
            # The process is gone: take what it sent last; if it never finished, its job failed.
            time.sleep(0.05)  # what the process put just before exiting reaches the manager
            self._take_messages(job)
            if job.state not in FINAL_STATES:
                job.state = FAILED
                job.error = f"the worker process stopped unexpectedly (exit code {process.exitcode})"
                if self.memory_mb:
                    job.error += f"; it may have needed more than the {self.memory_mb} MB a job may use"

    def _take_messages(self, job: Job) -> None:
        """Apply what the job's process has put on its channel so far to the job."""
        while job.state not in FINAL_STATES:
            try:
                kind, payload = job._channel.get_nowait()
            except Exception:  # queue.Empty through the manager's proxy, or the manager is gone
                return
            if kind == "started":
                job.state, job.started, job.pid = RUNNING, time.time(), payload
            elif kind == "report":
                job.reports.append(payload)
            elif kind == "finished":
                job.checkpoint = payload
                job.state = STOPPED if job._stop.is_set() else DONE
            else:
                job.state, job.error = FAILED, payload

    def _schedule(self) -> None:
        """Collect news from running jobs, then start waiting jobs while workers are free."""
        with self._lock:
            running = [job for job in self._jobs.values() if job._process is not None and job.state not in FINAL_STATES]
            for job in running:
                self._drain(job)
            busy = sum(1 for job in running if job.state not in FINAL_STATES)
            # Reap the processes of ended jobs (exitcode waits for them without blocking).
            alive = [*self._unreaped.values(), *running]
            self._unreaped = {job.id: job for job in alive if job._process.exitcode is None}
            while self._waiting and busy < self.workers:
                job = self._waiting.popleft()
                job._process = self._launcher.start((*job._arguments, self.threads_per_worker, self.memory_mb))
                busy += 1
            self._launcher.refill()

    def _schedule_forever(self) -> None:
        while not self._closed.wait(0.2):
            try:
                self._schedule()
            except Exception:  # the manager went away at shutdown
                if self._closed.is_set():
                    return
