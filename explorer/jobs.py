"""Training jobs in worker processes, a bounded number at a time, shared by every session.

A job is one run of the three losses on one data set. It runs in its own spawned process
(never in a page's script thread), streams one report per epoch back through a queue, and can
be stopped between epochs. Jobs belong to the session that submitted them: a session sees and
stops only its own. A process that dies fails its job alone, and its slot goes to the next
job. A job's final state is a checkpoint (bytes) that can be continued. A job may have a
budget of seconds: past it, the pool stops it as Stop would, and its results are kept.
"""

import contextlib
import io
import itertools
import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections import deque
from dataclasses import asdict, dataclass, field

from dilate_core.data import Dataset
from dilate_lab._spawn import bare_main
from dilate_lab.train import Config
from explorer import kernel_plan
from explorer.cost import duration_text
from explorer.limits import worker_count

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to run one job; it travels to the worker process (pickled)."""

    config: dict  # the run's Config as a dict (dataclasses.asdict)
    dataset: Dataset
    checkpoint: bytes | None  # the run to continue, or None for a new one
    epochs: int  # epochs to train
    channel: object  # a queue: the worker puts (kind, payload) messages on it
    stop: object  # an event: set, the worker stops after its current epoch
    threads: int = 1  # torch and numba threads of the worker
    memory_mb: int | None = None  # address space of the worker's process (None: no limit)


def run_job(spec: JobSpec) -> None:
    """Worker side: train, putting ('started'|'report'|'scores'|'finished'|'failed', payload) on the
    spec's channel; 'scores' are every test series' (dilate_lab.scores.per_series_scores) with the
    weights the pages show, just before 'finished'; a failure's payload is (message, traceback text)."""
    _lower_priority()
    memory_mb, channel = spec.memory_mb, spec.channel
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
        from dilate_core.threads import pin_threads  # imported here: the process is spawned fresh
        from dilate_lab.scores import per_series_scores
        from dilate_lab.train import Trainer

        threads = spec.threads
        # Both pools of threads, torch's and numba's: with numba at its default (every core) in each of
        # several jobs, their idle threads spin against each other and an epoch takes 10-20 times longer.
        pin_threads(threads)
        kernel_plan.warm(TRAINING_KERNELS)
        if spec.checkpoint is None:
            trainer = Trainer(Config.from_dict(spec.config), spec.dataset)
        else:
            trainer = Trainer.load(io.BytesIO(spec.checkpoint), spec.dataset)
        channel.put(("started", os.getpid()))
        if spec.checkpoint is None:  # the first chart waits neither for the first epoch nor the test metrics
            channel.put(("report", asdict(trainer.initial_report(test_metrics=False))))
            channel.put(("report", asdict(trainer.initial_report())))  # the same epoch, completed
        for report in trainer.run(spec.epochs):
            channel.put(("report", asdict(report)))
            if spec.stop.is_set():
                break
        # Every test series scored here, once, while the worker has the models: the pages read them.
        predictions = trainer.predict(spec.dataset.test_x, best=trainer.config.select_on_validation)
        channel.put(("scores", per_series_scores(predictions, spec.dataset.test_y)))
        buffer = io.BytesIO()
        trainer.save(buffer)
        channel.put(("finished", buffer.getvalue()))
    except Exception as error:  # reported to the job's session, never raised in the server
        message = f"{type(error).__name__}: {error}"
        if memory_mb and isinstance(error, (MemoryError, ImportError, OSError)):  # out of address space
            message = f"the run needed more than the {memory_mb} MB a job may use ({message}); use less data"
        channel.put(("failed", (message, traceback.format_exc())))


# What a worker compiles before its job: the training kernels (and the exact DTW of its evaluations).
TRAINING_KERNELS = ("training", "scores")


def wait_for_a_job(connection) -> None:
    """A spare worker: load torch and the compiled kernels now, then run the one job it is sent
    (or end on None or a closed pipe). Spares spend the seconds of a cold start before a visitor
    presses Start, not after."""
    _lower_priority()
    from dilate_core.data import make_synthetic
    from dilate_lab.train import Trainer

    kernel_plan.warm(TRAINING_KERNELS)
    # One tiny epoch pays for what torch initialises on first use (the first Adam alone takes a second).
    tiny = Config(n_series=4, batch_size=4, hidden=4, epochs=1, n_preview=0)
    list(Trainer(tiny, make_synthetic(4, tiny.n_input, tiny.n_output)).run())
    try:
        spec = connection.recv()
    except (EOFError, OSError):
        return
    if spec is not None:
        run_job(spec)


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
    error: str | None = None  # why it failed, in a sentence
    traceback: str | None = None  # where it failed: the worker's traceback, when there is one
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    pid: int | None = None  # the worker process's id, once it has started
    predicted_s: float | None = None  # its expected duration when submitted, if the pool can tell
    budget_s: float | None = None  # the seconds it may run; past them the pool stops it
    over_budget: bool = False  # stopped by the pool at its budget
    results: dict = field(default_factory=dict)  # what pages derive from the finished run, computed once
    _spec: JobSpec | None = None
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

    def expected_seconds(self, now: float) -> float:
        """Seconds until it ends, as well as known now: from its epochs so far, else its
        prediction (0 when unknown), never beyond its budget."""
        left = self.seconds_left()
        elapsed = now - self.started if self.started is not None else 0.0
        if left is None:
            left = max(0.0, (self.predicted_s or 0.0) - elapsed)
        if self.budget_s is not None:
            left = min(left, max(0.0, self.budget_s - elapsed))
        return left


def budget_message(predicted_s: float, budget_s: float, epochs: int) -> str:
    """Why a run is refused: its predicted seconds against the budget, and what to lower."""
    fitting = int(epochs * budget_s / predicted_s)
    lower = f"lower the epochs to {fitting} or fewer" if fitting >= 1 else "lower the number of series"
    return (
        f"This run would take about {duration_text(predicted_s)} here, over the {duration_text(budget_s)} a run "
        f"may take on this server: {lower}, or use fewer series, shorter series, fewer hidden units or fewer losses."
    )


class JobPool:
    """At most `workers` jobs running at once, each in its own process; the rest wait in order.

    Limits: `max_queued_per_owner` unfinished jobs per session, `max_queued` unfinished jobs in
    all, `memory_mb` of address space per job process (None: no limit), `max_job_seconds` per job
    (None: no limit): a job predicted to take longer is refused, one that runs longer is stopped.
    `estimate(config, dataset, epochs)` predicts a job's seconds (or None when it cannot tell);
    `learn(config, dataset, reports)` is told each job that ends, done or stopped, with its reports.
    """

    def __init__(
        self,
        workers: int | None = None,
        threads_per_worker: int = 1,
        max_queued_per_owner: int = 2,
        max_queued: int = 32,
        memory_mb: int | None = None,
        launcher=None,
        max_job_seconds: float | None = None,
        estimate=None,
        learn=None,
    ):
        self.workers = worker_count(workers)
        self.threads_per_worker = threads_per_worker
        self.max_queued_per_owner, self.max_queued, self.memory_mb = max_queued_per_owner, max_queued, memory_mb
        self.max_job_seconds, self._estimate, self._learn = max_job_seconds, estimate, learn
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
        """Queue a job for `owner`; it starts when a worker is free. Raises LimitError when full
        or when the job is predicted to take longer than `max_job_seconds`."""
        predicted = self._estimate(config, dataset, epochs) if self._estimate is not None else None
        if self.max_job_seconds and predicted is not None and predicted > self.max_job_seconds:
            raise LimitError(budget_message(predicted, self.max_job_seconds, epochs))
        with self._lock:
            unfinished = [job for job in self._jobs.values() if job.state not in FINAL_STATES]
            mine = sum(1 for job in unfinished if job.owner == owner)
            if mine >= self.max_queued_per_owner:
                raise LimitError(
                    f"You already have {mine} unfinished run(s), the most one visitor may have; stop one first."
                )
            if len(unfinished) >= self.max_queued:
                raise LimitError(f"The server is busy with {len(unfinished)} runs; try again in a few minutes.")
            job = Job(next(self._ids), owner, config, epochs, start_epoch, predicted_s=predicted)
            job.budget_s = self.max_job_seconds or None
            job._channel, job._stop = self._launcher.channel_and_stop()
            job._spec = JobSpec(
                asdict(config),
                dataset,
                checkpoint,
                epochs,
                job._channel,
                job._stop,
                threads=self.threads_per_worker,
                memory_mb=self.memory_mb,
            )
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

    def expected_wait(self, job: Job) -> float | None:
        """Seconds until a waiting job gets a worker, as well as known now (the jobs running and
        ahead of it, each its expected seconds), or None if it is not waiting."""
        now = time.time()
        with self._lock:
            if job not in self._waiting:
                return None
            ahead = list(itertools.takewhile(lambda other: other is not job, self._waiting))
            running = [j for j in self._jobs.values() if j._process is not None and j.state not in FINAL_STATES]
        free_at = sorted(j.expected_seconds(now) for j in running)[: self.workers]
        free_at += [0.0] * (self.workers - len(free_at))  # idle workers
        for other in ahead:  # each job ahead takes the first worker to be free
            free_at.sort()
            free_at[0] += other.expected_seconds(now)
        return min(free_at)

    def stop(self, owner: str, job_id: int) -> bool:
        """Ask the owner's job to stop after its current epoch (or not to start); False if not theirs."""
        job = self.get(owner, job_id)
        if job is None:
            return False
        job._stop.set()
        with self._lock:
            if job in self._waiting:  # never started: it ends as it was
                self._waiting.remove(job)
                job.state, job.checkpoint = STOPPED, job._spec.checkpoint
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
                log.warning("job %d failed: %s", job.id, job.error)

    def _take_messages(self, job: Job) -> None:
        """Apply what the job's process has put on its channel so far to the job."""
        while job.state not in FINAL_STATES:
            try:
                kind, payload = job._channel.get_nowait()
            except Exception:  # queue.Empty through the manager's proxy, or the manager is gone
                return
            if kind == "started":
                job.state, job.started, job.pid = RUNNING, time.time(), payload
                log.info("job %d runs in process %d", job.id, payload)
            elif kind == "report":
                if job.reports and job.reports[-1]["epoch"] == payload["epoch"]:
                    job.reports[-1] = payload  # a report completed: epoch 0's test metrics follow its forecasts
                else:
                    job.reports.append(payload)
            elif kind == "scores":  # the run's last epoch's per-series scores (explorer.scoring's key)
                job.results[("per_series", job.epoch)] = payload
            elif kind == "finished":
                job.checkpoint = payload
                job.state = STOPPED if job._stop.is_set() else DONE
                if self._learn is not None:
                    self._learn(job.config, job._spec.dataset, job.reports)
            else:
                job.state = FAILED
                job.error, job.traceback = payload
                log.warning("job %d failed: %s\n%s", job.id, job.error, job.traceback)

    def _schedule(self) -> None:
        """Collect news from running jobs, then start waiting jobs while workers are free."""
        with self._lock:
            running = [job for job in self._jobs.values() if job._process is not None and job.state not in FINAL_STATES]
            for job in running:
                self._drain(job)
                self._enforce_budget(job)
            busy = sum(1 for job in running if job.state not in FINAL_STATES)
            # Reap the processes of ended jobs (exitcode waits for them without blocking).
            alive = [*self._unreaped.values(), *running]
            self._unreaped = {job.id: job for job in alive if job._process.exitcode is None}
            while self._waiting and busy < self.workers:
                job = self._waiting.popleft()
                job._process = self._launcher.start(job._spec)
                log.info(
                    "job %d of %s started (%d epochs, predicted %s s)", job.id, job.owner, job.epochs, job.predicted_s
                )
                busy += 1
            self._launcher.refill()

    def _enforce_budget(self, job: Job) -> None:
        """Stop a running job past its budget, as Stop would: it ends after its epoch, results kept."""
        if job.state != RUNNING or job.budget_s is None or job.over_budget:
            return
        if time.time() - job.started > job.budget_s:
            job.over_budget = True
            job._stop.set()
            log.info("job %d reached its budget of %.0f s: stopping it", job.id, job.budget_s)

    def _schedule_forever(self) -> None:
        while not self._closed.wait(0.2):
            try:
                self._schedule()
            except Exception:
                if self._closed.is_set():  # the manager went away at shutdown
                    return
                log.exception("the job scheduler's round failed; trying again")
