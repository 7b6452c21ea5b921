"""A finished run's test scores, computed once per run and kept with its job.

Scoring every test series (ECG5000: 4500) takes seconds to minutes; every visit of Results, from
any tab, reads what the first one computed. The job is the run's own record in the server's
pool, so the scores live as long as the run and never push another run's out of a cache.
"""

import threading

from dilate_lab.scores import per_series_scores

_locks_lock = threading.Lock()
_locks: dict[int, threading.Lock] = {}  # one per job: two tabs of one run score it once


def run_scores(job, trainer, dataset) -> dict:
    """loss -> {'mse', 'dtw', 'tdi', 'flatness'} of (n_test,) arrays and 'pooled' (the model's
    `pooled_flatness`): each model's per-series test scores, with its best validation weights
    when the run selects on validation."""
    key = ("per_series", job.epoch)
    with _locks_lock:
        lock = _locks.setdefault(id(job), threading.Lock())
    with lock:
        if key not in job.results:
            predictions = trainer.predict(dataset.test_x, best=trainer.config.select_on_validation)
            job.results[key] = per_series_scores(predictions, dataset.test_y)
        return job.results[key]


def scored(job) -> bool:
    """Whether the run's scores are computed already (no wait to announce)."""
    return ("per_series", job.epoch) in job.results
