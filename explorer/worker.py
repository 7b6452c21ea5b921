"""What runs in a training job's own process: the `JobSpec` it is sent, `run_job` (train, report
each epoch on the spec's channel, stop when asked, end with the checkpoint) and `wait_for_a_job`
(a spare process that loads torch and the kernels first, then runs the one job it is sent).

Both are the targets of spawned processes (explorer.launcher) and of Ray tasks (explorer.ray_jobs):
their importable path is part of how a job starts. Nothing here runs in the web server.
"""

import io
import os
import traceback
from dataclasses import asdict, dataclass

from dilate_core.data import Dataset
from dilate_lab.train import Config
from explorer import kernel_plan

WORKER_NICENESS = 10  # the web server (pages, health checks) goes first when the cores are busy

# What a worker compiles before its job: the training kernels (and the exact DTW of its evaluations).
TRAINING_KERNELS = ("training", "scores")


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


def _lower_priority() -> None:
    """This process at `WORKER_NICENESS` at least (the launcher lowers it from outside too, sooner)."""
    os.nice(max(0, WORKER_NICENESS - os.nice(0)))


def _address_space_bytes() -> int:
    """This process's virtual memory size (what RLIMIT_AS bounds), from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


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
