"""Where a sweep's tasks train: a local process pool or a Ray cluster; and the loop that stores them.

An executor's `run(tasks)` yields one `Outcome` per task as it finishes: the task, its result
(see `train_task`) or, if it failed, the full traceback text of its error.
"""

import logging
import multiprocessing
import os
import socket
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from dilate_core import warmup
from dilate_core.metrics import evaluate, external
from dilate_core.threads import pin_threads
from dilate_lab import paper
from dilate_lab._spawn import bare_main
from dilate_lab.sweep.plan import Sweep, Task
from dilate_lab.sweep.store import Store
from dilate_lab.sweep.summary import METRICS, write_summary
from dilate_lab.train import Config, Trainer, load_dataset

log = logging.getLogger(__name__)

Outcome = tuple[Task, dict | None, str | None]  # a task and its result, or its error's traceback


def provenance() -> dict:
    """The code and packages a task runs with: the checkout's git commit ('+changes' when its tracked
    files differ from it; 'unknown' outside a checkout) and the versions of torch, numpy and numba."""
    import numba
    import numpy
    import torch

    def git(*arguments: str) -> str:
        done = subprocess.run(["git", *arguments], cwd=paper.ROOT, capture_output=True, text=True, timeout=30)
        if done.returncode:
            raise OSError(done.stderr)
        return done.stdout.strip()

    try:
        code = git("rev-parse", "--short=12", "HEAD")
        code += "+changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    except (OSError, subprocess.SubprocessError):  # no git, or not a checkout
        code = "unknown"
    return {
        "code": code,
        "packages": {"torch": torch.__version__, "numpy": numpy.__version__, "numba": numba.__version__},
    }


def train_task(config: dict) -> dict:
    """Train one task's Config; its result as plain data: per protocol ('last', and 'best' with
    select_on_validation), loss and metric the test value at the paper's scale; the best and
    early-stop epochs, the epochs trained, the wall time, the host, and the code and package
    versions (`provenance`)."""
    start = time.perf_counter()
    warmup()
    run_config = Config.from_dict(config)
    dataset = load_dataset(run_config)
    trainer = Trainer(run_config, dataset)
    for _ in trainer.run(test_metrics=False):  # only the final scores below are kept
        pass
    scales = paper.scales(run_config.dataset, external=True)
    protocols = ["last", "best"] if run_config.select_on_validation else ["last"]
    results = {}
    for protocol in protocols:
        forecasts = trainer.predict(dataset.test_x, best=protocol == "best")
        results[protocol] = {}
        for loss, pred in forecasts.items():
            scores = evaluate(pred, dataset.test_y) | external(pred, dataset.test_y)
            results[protocol][loss] = {metric: scores[metric] * scales[metric] for metric in METRICS}
    return {
        "metrics": results,
        "best_epochs": trainer.best_epochs,
        "stopped": trainer.stopped,
        "epochs": trainer.epoch,
        "seconds": time.perf_counter() - start,
        "host": socket.gethostname(),
    } | provenance()


def error_text(error: BaseException) -> str:
    """The full traceback of an error, with the remote one a worker process or Ray attached."""
    return "".join(traceback.format_exception(error)).rstrip()


class LocalExecutor:
    """A pool of spawned processes on this machine: `workers` (default: cores // threads) at
    once, each with torch and numba on `threads` threads."""

    def __init__(self, workers: int | None = None, threads: int = 1):
        self.threads = threads
        self.workers = workers or max(1, (os.cpu_count() or 1) // threads)

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=pin_threads, initargs=(self.threads,))
        log.info("%d tasks on %d local processes of %d threads", len(tasks), self.workers, self.threads)
        with bare_main():  # the pool starts its processes as tasks are submitted
            futures = {pool.submit(train_task, task.config): task for task in tasks}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if error is None:
                        yield futures[future], future.result(), None
                    else:
                        yield futures[future], None, error_text(error)
        finally:
            if pending:  # Ctrl-C, or the caller stopped reading: queued tasks never start and the
                # running ones end with their process (Python 3.11 has no public way to stop them)
                log.info("stopping: %d tasks not finished", len(pending))
                processes = list((pool._processes or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for process in processes:
                    process.terminate()
            else:
                pool.shutdown()


class RayExecutor:
    """One Ray task per training task on the cluster at `address` ("auto": the one this machine
    belongs to), each asking for `threads` CPUs, retried when its worker or node dies."""

    def __init__(self, address: str, threads: int = 1, retries: int = 3):
        self.address, self.threads, self.retries = address, threads, retries

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        import ray  # optional: only a sweep sent to a cluster needs it

        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)
        log.info("%d tasks on the Ray cluster at %s, %d CPUs each", len(tasks), self.address, self.threads)
        remote = ray.remote(num_cpus=self.threads, max_retries=self.retries)(_ray_task)
        references = {remote.remote(task.config, self.threads): task for task in tasks}
        try:
            while references:
                finished, _ = ray.wait(list(references), num_returns=1)
                for reference in finished:
                    task = references.pop(reference)
                    try:
                        yield task, ray.get(reference), None
                    except Exception as error:  # the task's own error, or its node lost past the retries
                        yield task, None, error_text(error)
        finally:  # Ctrl-C, or the caller stopped reading: nothing stays queued on the cluster
            for reference in references:
                ray.cancel(reference, force=True)


def _ray_task(config: dict, threads: int) -> dict:
    pin_threads(threads)
    return train_task(config)


def executor_from(ray_address: str | None = None, workers: int | None = None, threads: int = 1):
    """Ray when an address is given or RAY_ADDRESS is set, else the local process pool."""
    address = ray_address or os.environ.get("RAY_ADDRESS")
    return RayExecutor(address, threads) if address else LocalExecutor(workers, threads)


def run_sweep(
    sweep: Sweep,
    folder,
    executor=None,
    progress: Callable[[int, int, int], None] | None = None,
    command: str | None = None,
) -> Path:
    """Train every task of `sweep` not yet done in `folder`'s store, then write the summary.

    progress(done, total, failed) is called at the start and after every task; `command`, the
    command line that reruns the sweep, goes into the summary. Returns the summary's Markdown path.
    """
    store = Store(folder)
    try:
        tasks = sweep.tasks()
        done = store.done()
        missing = [task for task in tasks if task.key not in done]
        finished, failed = len(tasks) - len(missing), 0
        log.info("%s: %d of %d runs in the store, %d to train", store.folder, finished, len(tasks), len(missing))
        if progress:
            progress(finished, len(tasks), failed)
        if missing:
            for task, result, error in (executor or LocalExecutor()).run(missing):
                store.record(task, result, error)
                if error is None:
                    log.info("done: %s run %d in %.0f s", task.cell, task.run, result["seconds"])
                else:
                    log.error("failed: %s run %d\n%s", task.cell, task.run, error)
                write_summary(sweep, store, command)  # a long sweep's summary follows its store
                finished, failed = finished + (error is None), failed + (error is not None)
                if progress:
                    progress(finished, len(tasks), failed)
        return write_summary(sweep, store, command)
    finally:
        store.close()
