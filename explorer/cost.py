"""A run's expected duration on this machine, before it starts.

Once per server and per (model, hidden units, batch size, losses), a short calibration trains
those models on a few batches of synthetic series and times an epoch and an evaluation. A run
is then that cost scaled by its series and their length: an epoch's work grows as the series
times their length (the batches, each step along the series), and so does an evaluation's over
the test series. Measured in the server process, while it serves pages: an estimate, which the
live view replaces with the run's own epoch times once it trains. A calibration made while the
server is busy (a fresh server compiles and starts its workers) can be far off, so each finished
run's own pace replaces it for the runs like it that follow (`learn`).
"""

import statistics
import threading
import time
from dataclasses import dataclass

from dilate_core.data import make_synthetic
from dilate_lab.train import Config, Trainer

CALIBRATION_LENGTH = (20, 20)  # input and output steps of the calibration's series
CALIBRATION_BATCHES = 2  # batches per timed epoch
MAX_CALIBRATION_BATCH = 200  # series per batch in the calibration, at most
START_SECONDS = 1.0  # a job's start: its process, the data sent to it, its models built


@dataclass(frozen=True)
class Calibration:
    """Seconds per series-step: `train` for one epoch of every model, `test` for one evaluation."""

    train: float
    test: float


_lock = threading.Lock()
_calibrations: dict[tuple, Calibration] = {}
# training seconds per series-step, as the last finished run of its kind trained; a lock of its own,
# so that the job pool's thread, which tells `learn`, never waits for a calibration
_paces_lock = threading.Lock()
_paces: dict[tuple, float] = {}


def _kind(config: Config) -> tuple:
    """What a run's pace depends on besides its data's size."""
    return (config.model, config.hidden, config.batch_size, tuple(config.losses), config.parallel)


def calibration(config: Config) -> Calibration:
    """The measured cost per series-step of this config's models and losses, once per server."""
    batch = min(config.batch_size, MAX_CALIBRATION_BATCH)
    key = (config.model, config.hidden, batch, tuple(config.losses), config.parallel)
    with _lock:  # one calibration at a time: two at once would time each other
        if key not in _calibrations:
            _calibrations[key] = _measure(config, batch)
        return _calibrations[key]


def _measure(config: Config, batch: int) -> Calibration:
    n_input, n_output = CALIBRATION_LENGTH
    n = batch * CALIBRATION_BATCHES
    tiny = Config(
        model=config.model,
        hidden=config.hidden,
        losses=config.losses,
        parallel=config.parallel,
        n_series=n,
        n_input=n_input,
        n_output=n_output,
        batch_size=batch,
        eval_every=1000,
        n_preview=0,
        select_on_validation=False,
    )
    trainer = Trainer(tiny, make_synthetic(n, n_input, n_output))
    list(trainer.run(1, test_metrics=False))  # torch's and Adam's first-use costs, not a run's
    began = time.perf_counter()
    list(trainer.run(1, test_metrics=False))
    epoch = time.perf_counter() - began
    began = time.perf_counter()
    trainer.evaluate()
    test = time.perf_counter() - began
    steps = n * (n_input + n_output)
    return Calibration(train=epoch / steps, test=test / steps)


def learn(config: Config, dataset, reports: list[dict]) -> None:
    """Keep a finished run's pace for the estimates of runs of its kind: the median of its epochs'
    training seconds (their evaluations apart; its first epoch, with torch's first-use costs, left
    out) per series-step of `dataset`. A run of one trained epoch teaches nothing."""
    trained = [report for report in reports if report["train"]][1:]
    if not trained:
        return
    seconds = statistics.median(report["seconds"] - report["timing"].get("eval", 0.0) for report in trained)
    with _paces_lock:
        _paces[_kind(config)] = seconds / (len(dataset.train_x) * (dataset.n_input + dataset.n_output))


def estimate(config: Config, dataset, epochs: int) -> float:
    """Expected seconds of `epochs` epochs of `config` on `dataset`, evaluations and start included:
    at the pace of the last finished run of its kind, else at its calibration's."""
    unit = calibration(config)
    with _paces_lock:
        pace = _paces.get(_kind(config), unit.train)
    length = dataset.n_input + dataset.n_output
    evaluations = epochs // config.eval_every + 1  # and after the first epoch
    train = epochs * pace * len(dataset.train_x) * length
    test = evaluations * unit.test * len(dataset.test_x) * length
    return START_SECONDS + train + test


def duration_text(seconds: float) -> str:
    """'40 s', '3 min', '2.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
