"""Training jobs in a bounded pool of worker processes, shared by every session of the server.

A job is one run of the three losses on one data set. It runs in a spawned worker process
(never in a page's script thread), streams one report per epoch back through a queue, and
can be stopped between epochs. Jobs belong to the session that submitted them: a session can
only see and stop its own. A job's final state is a checkpoint (bytes) that can be continued.
"""

import io
import itertools
import multiprocessing
import os
import sys
import threading
import time
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from dilate_core.data import Dataset
from dilate_core.train import Config

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINAL_STATES = (DONE, STOPPED, FAILED)


def run_job(config: dict, dataset: Dataset, checkpoint: bytes | None, epochs: int, channel, stop, threads: int):
    """Worker side: train, putting ('started'|'report'|'finished'|'failed', payload) on `channel`."""
    import torch  # imported here: the worker process is spawned fresh

    import dilate_core
    from dilate_core.train import Trainer

    try:
        torch.set_num_threads(threads)
        dilate_core.warmup()
        if checkpoint is None:
            trainer = Trainer(Config.from_dict(config), dataset)
        else:
            trainer = Trainer.load(io.BytesIO(checkpoint), dataset)
        channel.put(("started", os.getpid()))
        if stop.is_set():  # stopped while queued but already handed to the worker
            channel.put(("finished", checkpoint))
            return
        for report in trainer.run(epochs):
            channel.put(("report", asdict(report)))
            if stop.is_set():
                break
        buffer = io.BytesIO()
        trainer.save(buffer)
        channel.put(("finished", buffer.getvalue()))
    except Exception as error:  # reported to the job's session, never raised in the pool
        channel.put(("failed", f"{type(error).__name__}: {error}"))


@contextmanager
def _bare_main():
    """A spawned process re-runs the parent's __main__.__file__ first; under Streamlit that is
    the app script (the script runner installs it as __main__), so hide it while spawning."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@dataclass
class Job:
    """The app's view of one job; updated by `JobPool.poll`."""

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
    _channel: object = None
    _stop: object = None
    _future: object = None

    @property
    def epoch(self) -> int:
        """Epochs trained so far, counting those of the run it continues."""
        return self.reports[-1]["epoch"] if self.reports else self.start_epoch

    def seconds_left(self) -> float | None:
        """Estimated seconds to the last epoch, from the mean epoch time so far."""
        done = len(self.reports)
        if not done or self.state != RUNNING:
            return None
        mean = sum(r["seconds"] for r in self.reports) / done
        return mean * (self.epochs - done)


class JobPool:
    """A process pool of `workers` processes and the jobs submitted to it, by owner."""

    def __init__(self, workers: int | None = None, threads_per_worker: int = 1):
        self.workers = workers or os.cpu_count() or 1
        self.threads_per_worker = threads_per_worker
        self._context = multiprocessing.get_context("spawn")
        with _bare_main():
            self._manager = self._context.Manager()  # queues and events that can travel to the workers
        self._executor = ProcessPoolExecutor(self.workers, mp_context=self._context)
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def submit(
        self,
        owner: str,
        config: Config,
        dataset: Dataset,
        epochs: int,
        checkpoint: bytes | None = None,
        start_epoch: int = 0,
    ) -> Job:
        """Queue a job for `owner`; it starts when a worker is free."""
        job = Job(next(self._ids), owner, config, epochs, start_epoch)
        job._channel, job._stop = self._manager.Queue(), self._manager.Event()
        arguments = (asdict(config), dataset, checkpoint, epochs, job._channel, job._stop, self.threads_per_worker)
        with _bare_main():
            try:
                job._future = self._executor.submit(run_job, *arguments)
            except BrokenProcessPool:  # a worker died: the pool is unusable, start a fresh one
                self._executor = ProcessPoolExecutor(self.workers, mp_context=self._context)
                job._future = self._executor.submit(run_job, *arguments)
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, owner: str, job_id: int) -> Job | None:
        """The job if it exists and belongs to `owner`, else None: sessions never see each other's jobs."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def jobs(self, owner: str) -> list[Job]:
        return [job for job in self._jobs.values() if job.owner == owner]

    def poll(self, job: Job) -> Job:
        """Drain the job's queue into its state and reports."""
        with self._lock:
            self._drain(job)
        return job

    def _drain(self, job: Job) -> None:
        while job.state not in FINAL_STATES:
            try:
                kind, payload = job._channel.get_nowait()
            except Exception:  # queue.Empty, through the manager's proxy
                break
            if kind == "started":
                job.state, job.started = RUNNING, time.time()
            elif kind == "report":
                job.reports.append(payload)
            elif kind == "finished":
                job.checkpoint = payload
                job.state = STOPPED if job._stop.is_set() else DONE
            else:
                job.state, job.error = FAILED, payload
        if job.state not in FINAL_STATES and job._future.done() and job._future.exception() is not None:
            job.state, job.error = FAILED, f"the worker process died ({job._future.exception()})"

    def place_in_queue(self, job: Job) -> int:
        """1 for the next job to start, 0 once started: jobs of any owner submitted earlier and still waiting."""
        if job.state != QUEUED:
            return 0
        waiting = [j for j in self._jobs.values() if j.state == QUEUED and self.poll(j).state == QUEUED]
        return 1 + sum(1 for j in waiting if j.id < job.id)

    def stop(self, owner: str, job_id: int) -> bool:
        """Ask the owner's job to stop after its current epoch (or not to start); False if not theirs."""
        job = self.get(owner, job_id)
        if job is None:
            return False
        job._stop.set()
        if job._future.cancel():  # still queued: it never runs
            job.state = STOPPED
        return True

    def stop_all(self, owner: str) -> None:
        """Stop every job of an owner, e.g. when its session ends."""
        for job in self.jobs(owner):
            if job.state not in FINAL_STATES:
                self.stop(owner, job.id)

    def shutdown(self) -> None:
        for job in list(self._jobs.values()):
            if job.state not in FINAL_STATES:
                job._stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._manager.shutdown()
