"""A run's expected duration: its calibration scaled by the run's size, and replaced by the pace
of the last finished run of its kind."""

import pytest

from dilate_core.data import make_synthetic
from dilate_lab.train import Config
from explorer import cost

CONFIG = Config(losses=("mse",), hidden=8, batch_size=10, eval_every=1000)  # one evaluation in 0..999 epochs
DATA = make_synthetic(40, 20, 20)


@pytest.fixture(autouse=True)
def no_paces_learnt(monkeypatch):
    monkeypatch.setattr(cost, "_paces", {})


def training_seconds(config: Config, dataset, epochs: int) -> float:
    """The estimate's training part: one evaluation in both, so it cancels."""
    return cost.estimate(config, dataset, epochs) - cost.estimate(config, dataset, 0)


def reports(seconds: list[float], evaluations: list[float]) -> list[dict]:
    """A run's reports as a job receives them: epoch 0 (nothing trained), then one per epoch."""
    trained = [
        {"epoch": e + 1, "train": {"mse": {"loss": 1.0}}, "seconds": s, "timing": {"eval": v}}
        for e, (s, v) in enumerate(zip(seconds, evaluations, strict=True))
    ]
    return [{"epoch": 0, "train": {}, "seconds": 0.3, "timing": {}}, *trained]


def test_an_estimate_grows_as_the_epochs_times_the_series_times_their_length():
    unit = cost.calibration(CONFIG).train
    steps = len(DATA.train_x) * (DATA.n_input + DATA.n_output)
    assert training_seconds(CONFIG, DATA, 10) == pytest.approx(10 * unit * steps)
    longer = make_synthetic(80, 20, 40)  # twice the series, 1.5 times their length
    assert training_seconds(CONFIG, longer, 10) == pytest.approx(3 * training_seconds(CONFIG, DATA, 10))


def test_a_finished_runs_pace_replaces_the_calibration_for_the_runs_of_its_kind():
    calibrated = training_seconds(CONFIG, DATA, 10)
    # Its first epoch (torch's first use) left out; each later one trained 2 s besides its evaluation.
    cost.learn(CONFIG, DATA, reports([9.0, 2.5, 2.0, 2.1], [0.5, 0.5, 0.0, 0.1]))
    assert training_seconds(CONFIG, DATA, 10) == pytest.approx(20.0)
    assert training_seconds(CONFIG, make_synthetic(80, 20, 20), 10) == pytest.approx(40.0)  # scaled as before
    other_kind = Config(losses=("mse",), hidden=16, batch_size=10, eval_every=1000)
    assert training_seconds(other_kind, DATA, 10) != pytest.approx(20.0)  # its own calibration
    assert training_seconds(CONFIG, DATA, 10) != pytest.approx(calibrated)


def test_a_run_of_one_trained_epoch_teaches_nothing():
    calibrated = training_seconds(CONFIG, DATA, 10)
    cost.learn(CONFIG, DATA, reports([9.0], [0.5]))
    assert training_seconds(CONFIG, DATA, 10) == pytest.approx(calibrated)
