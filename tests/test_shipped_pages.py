"""Alignments and Results open on the trained runs that ship with the app (assets/runs/) when a
session has none of its own, labelled, with the replay, and TDI read honestly."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dilate_core import metrics
from dilate_lab import shipped
from dilate_lab.scores import timed_series
from explorer import charts_replay

APP = "../app.py"
RUN_TIMEOUT_S = 480  # a first run on an empty numba cache, on a busy machine, waits for its kernels to compile
pytestmark = pytest.mark.skipif(not shipped.available(), reason="no packed run in assets/runs")


@pytest.fixture(scope="module")
def synthetic():
    return shipped.load(shipped.SHIPPED / "synthetic.pt")


def open_page(page: str, **link) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params.update(link)
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_results_without_a_run_shows_the_shipped_run_labelled_with_its_tdi_zero_shares_counted(synthetic):
    at = open_page("results")
    assert any(c.value.startswith(f"Trained {synthetic.epoch} epochs with the paper's settings") for c in at.caption)
    assert at.query_params["run"] == "synthetic"
    table = at.dataframe[0].value
    assert {"ours", "step in window", "TDI = 0"} <= set(table.columns)
    trainer = synthetic.trainer
    forecasts = trainer.predict(trainer.dataset.test_x, best=True)
    timed = timed_series(trainer.dataset)
    for name, label in (("mse", "MSE"), ("soft_dtw", "soft-DTW"), ("dilate", "DILATE")):
        tdi = metrics.per_series(forecasts[name], trainer.dataset.test_y)["tdi"]  # counted from the weights
        row = table[(table["loss"] == label) & table["metric"].str.startswith("TDI")].iloc[0]
        assert row["TDI = 0"] == f"{np.mean(tdi == 0):.0%}"
        assert row["ours"] == pytest.approx(float(f"{tdi.mean() * 10:.3g}"))
        assert row["step in window"] == pytest.approx(float(f"{tdi[timed].mean() * 10:.3g}"))


def test_alignments_without_a_run_opens_on_a_series_with_its_step_in_the_window_and_replays_the_training(synthetic):
    at = open_page("alignments")
    series = at.session_state["align.series"]
    assert timed_series(synthetic.trainer.dataset)[series]
    replay = json.loads(at.get("plotly_chart")[0].proto.spec)
    epochs = [r["epoch"] for r in synthetic.reports if r.get("previews")]
    drawn = charts_replay.replay_epochs(epochs, 20, 20, 3)
    assert [frame["name"] for frame in replay["frames"]] == [str(e) for e in drawn]
    assert replay["layout"]["sliders"][0]["active"] == len(drawn) - 1 and drawn[-1] == synthetic.epoch
    assert not at.warning  # a series with a step, and trained forecasts: nothing to flag


def test_a_series_whose_target_is_flat_in_the_window_is_flagged(synthetic):
    at = open_page("alignments")
    flat = int(np.flatnonzero(~timed_series(synthetic.trainer.dataset))[0])
    at.number_input(key="align.series").set_value(flat).run()
    assert not at.exception
    assert any("no step inside the forecast window" in w.value for w in at.warning)


def test_a_link_naming_a_shipped_run_opens_that_run():
    name = shipped.available()[-1]  # the last one: not the default
    at = open_page("results", run=name)
    assert at.query_params["run"] == name
    label = shipped.load(shipped.SHIPPED / f"{name}.pt").label()
    assert any(c.value == label for c in at.caption)
