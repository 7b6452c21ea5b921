"""The server's limits, each a setting (an environment variable) with a default for a small machine."""

import os
from dataclasses import dataclass, fields

ZERO_MEANS_NONE = ("workers", "spare_workers", "job_memory_mb", "max_job_seconds")  # 0: the cores, none


class LimitError(ValueError):
    """A request over one of the server's limits; the message says which and what to change."""


def worker_count(workers: int | None) -> int:
    """Training jobs running at once: `workers`, or one per core when it is 0 or None."""
    return workers or os.cpu_count() or 1


@dataclass(frozen=True)
class Limits:
    workers: int = 0  # DILATE_WORKERS: training jobs running at once, one process each (0: the cores)
    threads_per_worker: int = 1  # DILATE_THREADS_PER_WORKER: torch threads in each job
    # DILATE_SPARE_WORKERS: processes kept ready (torch and kernels loaded) for the next jobs (unset:
    # one per worker, so that as many runs as can train start at once without a cold start)
    spare_workers: int | None = None
    runs_per_session: int = 1  # DILATE_RUNS_PER_SESSION: unfinished runs one visitor may have
    runs_in_total: int = 16  # DILATE_RUNS_IN_TOTAL: unfinished runs, running or waiting, in all
    max_epochs: int = 2000  # DILATE_MAX_EPOCHS: epochs one run may ask for
    max_series: int = 2000  # DILATE_MAX_SERIES: synthetic series per split
    max_length: int = 60  # DILATE_MAX_LENGTH: synthetic input and output lengths
    max_hidden: int = 256  # DILATE_MAX_HIDDEN: hidden units of a model
    job_memory_mb: int = 4096  # DILATE_JOB_MEMORY_MB: address space of one job's process (0: no limit)
    upload_mb: int = 20  # DILATE_UPLOAD_MB: size of an uploaded CSV
    # DILATE_MAX_JOB_SECONDS: seconds one run may take (0: no limit); a run predicted to take longer
    # is refused, one that runs longer stops as Stop would, its results kept
    max_job_seconds: int = 0

    @classmethod
    def from_environment(cls, environment=os.environ) -> "Limits":
        """Read every DILATE_<NAME> variable that is set; a malformed one is an error at start-up."""
        values = {}
        for f in fields(cls):
            name = f"DILATE_{f.name.upper()}"
            raw = environment.get(name)
            if raw is None:
                continue
            try:
                values[f.name] = int(raw)
            except ValueError:
                raise ValueError(f"{name} must be a whole number, got {raw!r}.") from None
            least = 0 if f.name in ZERO_MEANS_NONE else 6 if f.name == "max_length" else 1
            if values[f.name] < least:
                raise ValueError(f"{name} must be at least {least}, got {raw!r}.")
        return cls(**values)

    def spares(self) -> int:
        """Spare processes to keep ready: DILATE_SPARE_WORKERS, else one per worker."""
        if self.spare_workers is not None:
            return self.spare_workers
        return worker_count(self.workers)
