"""Training jobs shared by every session: the app's view of a job (`Job`) and the pool that queues
them and runs a bounded number at a time (`JobPool`).

A job is one run of the three losses on one data set. It runs in its own process (started by
explorer.launcher, running explorer.worker's code; never in a page's script thread), streams one
report per epoch back through a queue, and can be stopped between epochs. Jobs belong to the session
that submitted them: a session sees and stops only its own. A process that dies fails its job alone,
and its slot goes to the next job. A job's final state is a checkpoint (bytes) that can be
continued. A job may have a budget of seconds: past it, the pool stops it as Stop would, and its
results are kept; how the pool reckons a job's time is explorer.job_time.
"""

import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field

from dilate_core.data import Dataset
from dilate_lab.train import Config
from explorer import job_time
from explorer.launcher import LocalLauncher
from explorer.limits import LimitError, worker_count
from explorer.worker import JobSpec

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINAL_STATES = (DONE, STOPPED, FAILED)


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
        """Estimated seconds to the last epoch, from the mean epoch time so far (None unless running)."""
        if self.state != RUNNING:
            return None
        return job_time.seconds_left([r["seconds"] for r in self.reports if r["train"]], self.epochs)

    def expected_seconds(self, now: float) -> float:
        """Seconds until it ends, as well as known now (explorer.job_time.expected_seconds)."""
        elapsed = now - self.started if self.started is not None else 0.0
        return job_time.expected_seconds(self.seconds_left(), self.predicted_s, elapsed, self.budget_s)


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
            raise LimitError(job_time.budget_message(predicted, self.max_job_seconds, epochs))
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
        return job_time.expected_wait(
            [j.expected_seconds(now) for j in running], [j.expected_seconds(now) for j in ahead], self.workers
        )

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
