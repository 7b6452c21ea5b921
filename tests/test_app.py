"""Every page through Streamlit's AppTest: it runs, its widgets work, bad input gets a message."""

import base64
import json
import runpy
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.caching.cache_resource_api import clear_session_cache
from streamlit.testing.v1 import AppTest

from dilate_core.data import make_synthetic
from dilate_lab import paper
from dilate_lab.train import Config
from explorer import cost, keys, loaders

APP = "../app.py"
APP_TEST_SESSION_ID = "test session id"  # the session id of every AppTest (streamlit.testing.v1.local_script_runner)
# A first run on an empty numba cache waits for the kernels it uses to compile; a busy machine takes longer.
# These are bounds, not expectations: a page that answers sooner is not slowed by them.
RUN_TIMEOUT_S = 480
RUN_WAIT_S = 480  # for a run to finish: its worker may first load torch and the kernels on a busy machine


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.run()
    assert not at.exception
    return at


def show(at, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def wait_for_the_run(at: AppTest) -> None:
    """Rerun the page until its run reports success: the live view redraws on its own only in a browser."""
    for _ in range(RUN_WAIT_S * 2):
        if at.success:
            return
        time.sleep(0.5)
        at.run()
    raise AssertionError(f"the run did not finish in {RUN_WAIT_S} s")


def test_overview_ranks_a_perfect_a_late_and_a_smooth_forecast_by_each_measure(app):
    assert app.title[0].value == "DILATE Explorer"
    assert len(app.get("plotly_chart")) == 3  # perfect, late, smooth side by side
    text = "\n".join(m.value for m in app.markdown)
    # The rankings, from the numbers: MSE prefers the smeared step, DILATE the late sharp one.
    assert "**MSE ranks perfect < smooth < late**" in text and "**DILATE ranks perfect < late < smooth**" in text
    assert "- **DILATE: perfect < late < smooth**" in text and "- **MSE: perfect < smooth < late**" in text
    assert "- DTW: perfect = late < smooth" in text and "- TDI: perfect = smooth < late" in text
    metrics_table = next(m.value for m in app.markdown if m.value.startswith("| | perfect | late | smooth |"))
    assert "| DTW | 0.000 | **0.000** | 1.038 |" in metrics_table  # DTW: the late step costs nothing
    assert "soft-DTW can be negative" in text and "soft-DTW divergence" in text
    (paper_link,) = app.get("page_link")  # the claims in brief lead to the Paper page
    assert paper_link.proto.page == "paper"


def test_data_page_generates_synthetic_series_and_writes_the_link(app):
    at = show(app, "data")
    assert at.session_state[keys.DATA].train_x.shape == (500, 20, 1)
    at.slider(key="data.synthetic.n_series").set_value(100).run()
    at.slider(key="data.synthetic.sigma").set_value(0.1).run()
    assert not at.exception
    assert at.session_state[keys.DATA].train_x.shape == (100, 20, 1)
    assert at.query_params["n_series"] == "100" and at.query_params["sigma"] == "0.1"
    assert at.query_params["source"] == "synthetic"
    assert at.session_state[keys.DATA_SETTINGS]["n_series"] == 100
    assert len(at.get("plotly_chart")) == 6  # the six examples


@pytest.mark.parametrize("source, shape", [("ecg5000", (500, 84, 1)), ("etth1", None)])
def test_data_page_loads_the_shipped_real_series(app, source, shape):
    at = show(app, "data")
    at.radio(key="data.source").set_value(source).run()
    assert not at.exception
    dataset = at.session_state[keys.DATA]
    assert dataset.name.startswith(source)
    if shape:
        assert dataset.train_x.shape == shape


def test_data_page_keeps_the_etth1_settings_that_rebuild_its_data(app):
    at = show(app, "data")
    at.radio(key="data.source").set_value("etth1").run()
    at.selectbox(key="data.etth1.column").set_value("HUFL").run()
    at.slider(key="data.etth1.stride").set_value(12).run()
    assert not at.exception
    settings = at.session_state[keys.DATA_SETTINGS]
    assert settings == {"dataset": "etth1", "column": "HUFL", "n_input": 48, "n_output": 24, "stride": 12}
    assert at.session_state[keys.DATA].name == "etth1-HUFL"
    assert at.query_params["column"] == "HUFL" and at.query_params["stride"] == "12"


def test_upload_without_a_file_asks_for_one(app):
    at = show(app, "data")
    at.radio(key="data.source").set_value("csv").run()
    assert not at.exception and "Choose a CSV file" in at.info[0].value


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"n_series": "abc"}, 500),
        ({"n_series": "999999"}, 2000),
        ({"n_series": "-5"}, 50),
        ({"n_series": "nan"}, 500),
        ({"n_series": "150"}, 150),
    ],
)
def test_a_bad_link_falls_back_to_bounded_settings(params, expected):
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params.update(params)
    at.run()  # the entry point first, as a browser does
    show(at, "data")
    assert at.slider(key="data.synthetic.n_series").value == expected


def test_train_page_in_a_tab_without_data_loads_the_default_data_and_says_so(app):
    at = show(app, "train")
    expected = make_synthetic(500, 20, 20, sigma=0.01, seed=0)  # the paper's data at the Data page's defaults
    np.testing.assert_array_equal(at.session_state[keys.DATA].train_x, expected.train_x)
    np.testing.assert_array_equal(at.session_state[keys.DATA].test_breaks, expected.test_breaks)
    assert at.info[0].value == (
        "This tab had no data yet, so Train loaded **Synthetic steps** (series per split 500, input length 20, "
        "output length 20, noise sigma 0.01, noise kind uniform, seed 0). The Data page changes it."
    )
    assert at.button(key="train.start").label == "Start training"
    version = at.session_state[keys.DATA_VERSION]
    at = show(at, "data")  # opens on the same data: nothing to load again
    assert at.session_state[keys.DATA_VERSION] == version and at.slider(key="data.synthetic.n_series").value == 500


def test_train_page_opened_by_a_link_loads_the_links_data():
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params.update({"source": "synthetic", "n_series": "100", "sigma": "0.02", "data_seed": "3", "epochs": "7"})
    at.run()
    at = show(at, "train")
    expected = make_synthetic(100, 20, 20, sigma=0.02, seed=3)
    np.testing.assert_array_equal(at.session_state[keys.DATA].test_x, expected.test_x)
    assert at.session_state[keys.DATA_SETTINGS]["n_series"] == 100
    assert "series per split 100" in at.info[0].value and "noise sigma 0.02" in at.info[0].value
    assert at.number_input(key="train.epochs").value == 7


def test_train_page_offers_bounded_settings_once_there_is_data(app):
    at = show(show(app, "data"), "train")
    assert at.number_input(key="train.epochs").value == 100
    assert at.number_input(key="train.epochs").max == 2000
    assert at.slider(key="train.alpha").max == 1.0
    assert "Start training" in [b.label for b in at.button]


def duration_caption(at) -> str:
    (caption,) = [c.value for c in at.caption if c.value.startswith("Expected duration on this server")]
    return caption


def test_the_expected_duration_follows_the_epochs_before_start(app):
    from explorer import server

    server.compiler().wait(("training",))  # before them, the page says the estimate comes once they are compiled
    at = show(app, "train")
    data = at.session_state[keys.DATA]
    for epochs in (2, 1500):
        at.number_input(key="train.epochs").set_value(epochs).run()
        config = Config(**(at.session_state[keys.DATA_SETTINGS] | {"epochs": epochs, "eval_every": 5}))
        # A run that ends meanwhile teaches the estimate its pace (cost.learn): either side of the page's look.
        before = cost.duration_text(cost.estimate(config, data, epochs))
        shown = duration_caption(at)
        after = cost.duration_text(cost.estimate(config, data, epochs))
        assert shown in (
            f"Expected duration on this server: about {before}.",
            f"Expected duration on this server: about {after}.",
        )
    assert at.session_state[keys.JOB] is None  # nothing started


def test_the_papers_settings_fill_the_form_and_say_what_they_cost_here(app):
    from explorer import server

    server.compiler().wait(("training",))  # before them, the page says the estimate comes once they are compiled
    at = show(app, "train")
    at.button(key="train.paper").click().run()
    assert not at.exception
    # DESIGN.md's Table 1 settings: Seq2Seq of 128 units, alpha 0.5, gamma 0.01, Adam at 1e-3, batches of
    # 100, up to 1000 epochs with the best validation weights kept
    assert at.multiselect(key="train.losses").value == ["mse", "soft_dtw", "dilate"]
    assert at.radio(key="train.model").value == "seq2seq" and at.select_slider(key="train.hidden").value == 128
    assert at.slider(key="train.alpha").value == 0.5 and at.select_slider(key="train.gamma").value == 0.01
    assert at.select_slider(key="train.lr").value == 1e-3 and at.slider(key="train.batch_size").value == 100
    assert at.number_input(key="train.epochs").value == 1000 and at.checkbox(key="train.select_on_validation").value
    assert at.number_input(key="train.mse_warmup").value == 0
    (said,) = [c.value for c in at.caption if c.value.startswith("These are the paper's settings.")]
    assert said.startswith("These are the paper's settings. Expected duration on this server: about ")
    assert "DILATE_MAX_EPOCHS" not in said  # this server allows 2000
    at.slider(key="train.alpha").set_value(0.8).run()
    assert not any(c.value.startswith("These are the paper's settings") for c in at.caption)
    assert "Expected duration on this server: about" in duration_caption(at)


def test_the_papers_settings_say_when_the_server_caps_the_epochs(app, monkeypatch):
    from explorer import server
    from explorer.limits import Limits

    at = show(app, "data")
    monkeypatch.setattr(server, "limits", lambda: Limits(max_epochs=300))
    at = show(at, "train")
    at.button(key="train.paper").click().run()
    assert at.number_input(key="train.epochs").value == 300
    (said,) = [c.value for c in at.caption if c.value.startswith("These are the paper's settings.")]
    assert said.endswith(
        "This server allows at most 300 epochs a run (its DILATE_MAX_EPOCHS), so the form holds 300 instead of the "
        "paper's 1000."
    )


@pytest.mark.parametrize("page", ["alignments", "results"])
def test_pages_that_need_a_run_say_so_when_no_trained_run_ships(app, page, monkeypatch):
    from explorer import shipped

    monkeypatch.setattr(shipped, "names", lambda: [])  # a checkout without assets/runs/
    at = show(app, page)
    assert "Train a run first" in at.info[0].value


def test_a_rejected_csv_gives_the_reason():
    dataset, error = loaders.uploaded_csv(b"a,b\n1,x\n", 2, 1, 1)
    assert dataset is None and "not numeric: b" in error
    dataset, error = loaders.uploaded_csv(("v\n" + "1\n" * 80).encode(), 4, 2, 1)
    assert error is None and dataset.n_input == 4


def test_train_settings_come_from_the_link_within_bounds():
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params.update({"epochs": "5000", "alpha": "0.8", "gamma": "7", "model": "mlp", "batch_size": "x"})
    at.run()  # the entry point first, as a browser does
    show(at, "data")
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception
    assert at.number_input(key="train.epochs").value == 2000  # clipped to its bound
    assert at.slider(key="train.alpha").value == 0.8
    assert at.select_slider(key="train.gamma").value == 0.01  # not offered: the default
    assert at.radio(key="train.model").value == "mlp"
    assert at.slider(key="train.batch_size").value == 100  # malformed: the default


def test_playground_opens_on_gradients_that_push_and_follows_its_sliders(app):
    at = show(app, "playground")
    metrics = {m.label: float(m.value) for m in at.metric}
    assert set(metrics) == {"MSE", "soft-DTW", "temporal", "DILATE", "divergence"}
    assert metrics["MSE"] > 0 and metrics["divergence"] > 0  # the default forecast is late and smeared
    text = "\n".join(m.value for m in at.markdown)
    assert f"= **{metrics['DILATE']:.4f}**" in text  # the formula with the live numbers
    assert "- **temporal**: raises points 21–24" in text and "no gradient" not in text
    assert not at.info
    at.slider(key="play.shift").set_value(0).run()
    assert not at.exception
    on_time = {m.label: float(m.value) for m in at.metric}
    assert on_time["temporal"] < metrics["temporal"]
    assert at.query_params["shift"] == "0"
    assert len(at.get("plotly_chart")) + len(at.get("bidi_component")) == 6  # drawn in place: explorer.plotly_react


def test_the_playgrounds_curve_caption_follows_the_forecasts_shift(app):
    from dilate_lab import playground as pg
    from explorer.playground_text import change

    def caption_and_expected(at, shift):
        d = pg.DEFAULTS
        target = pg.step_target(d["length"], d["position"], d["height"], d["noise"])
        shifts, values = pg.shift_curve(target, d["alpha"], d["gamma"], scale=d["scale"], smooth=d["smooth"])
        grown = pg.excess(shifts, values, 0)["temporal"][list(shifts).index(shift)]
        (caption,) = [c.value for c in at.caption if c.value.startswith("Each curve is")]
        return caption, f"temporal {change(grown)}"

    at = show(app, "playground")  # the default forecast: 3 steps late
    caption, expected = caption_and_expected(at, 3)
    assert "3 steps late (this forecast): MSE grows by" in caption and expected in caption
    at.slider(key="play.shift").set_value(-1).run()
    caption, expected = caption_and_expected(at, -1)
    assert "1 step early (this forecast): MSE" in caption and expected in caption
    at.slider(key="play.shift").set_value(0).run()  # on time: a forecast 3 steps late as the example
    caption, expected = caption_and_expected(at, 3)
    assert "3 steps late: MSE grows by" in caption and expected in caption


def test_playground_says_why_a_sharp_late_step_gets_no_gradient_at_small_gamma(app):
    at = show(app, "playground")
    at.slider(key="play.smooth").set_value(0).run()
    at.select_slider(key="play.gamma").set_value(0.01).run()
    assert not at.exception
    (why,) = [i.value for i in at.info if "but its gradient is 0" in i.value]
    # the value sees the lag (the temporal term of a sharp step 3 steps late at gamma 0.01), the gradient is 0
    assert why.startswith("DILATE's value sees where the forecast's step is (the temporal term is 0.3155")
    assert "the soft alignment weighs only pairs of equal values" in why
    assert "- **DILATE**: moves nothing (no gradient)" in "\n".join(m.value for m in at.markdown)
    at.radio(key="play.gradient").set_value("MSE").run()
    assert not [i for i in at.info if "but its gradient is 0" in i.value]  # MSE still pushes


@pytest.mark.slow  # trains in a worker process
def test_train_page_trains_the_divergence_as_a_fourth_loss_when_chosen(app):
    at = show(show(app, "data"), "train")
    assert at.multiselect(key="train.losses").value == ["mse", "soft_dtw", "dilate"]
    at.multiselect(key="train.losses").select("sdtw_div")
    at.number_input(key="train.epochs").set_value(1)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    assert at.query_params["losses"] == "mse,soft_dtw,dilate,sdtw_div"
    wait_for_the_run(at)
    curves = [chart.proto.spec for chart in at.get("plotly_chart")[:4]]  # the training curves: one chart per model
    for spec, label in zip(curves, ("MSE", "soft-DTW", "DILATE", "soft-DTW divergence"), strict=True):
        assert f'"text":"{label} loss"' in spec


def test_train_page_refuses_a_run_without_a_loss(app):
    at = show(show(app, "data"), "train")
    at.multiselect(key="train.losses").set_value([])
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and at.error[0].value == "Choose at least one loss to train with."
    assert at.session_state[keys.JOB] is None


@pytest.mark.slow  # trains in a worker process
def test_a_run_that_keeps_its_best_validation_weights_is_scored_with_them(app):
    at = show(show(app, "data"), "train")
    at.number_input(key="train.epochs").set_value(4)
    at.slider(key="train.eval_every").set_value(1)
    at.checkbox(key="train.select_on_validation").check()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and at.query_params["select_on_validation"] == "1"
    wait_for_the_run(at)
    assert "done after 4 epochs" in at.success[0].value
    assert any("Lowest validation loss so far at epoch" in c.value for c in at.caption)
    at = show(at, "results")
    assert at.subheader[0].value.startswith("Test metrics with each model's best validation weights")
    assert "the lowest validation loss came at epoch" in at.caption[0].value
    show(at, "alignments")


@pytest.mark.slow  # trains in a worker process
def test_early_stopping_needs_validation_and_shows_the_stopped_models(app):
    at = show(app, "data")
    at.slider(key="data.synthetic.n_series").set_value(100).run()
    at = show(at, "train")
    at.number_input(key="train.patience").set_value(1)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and "needs select_on_validation" in at.error[0].value
    assert at.session_state[keys.JOB] is None
    at.checkbox(key="train.select_on_validation").check()
    at.number_input(key="train.epochs").set_value(60)
    at.slider(key="train.eval_every").set_value(1)
    at.select_slider(key="train.lr").set_value(1e-2)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and at.query_params["patience"] == "1"
    wait_for_the_run(at)
    stopped = "Stopped early (no lower validation loss for 1 evaluation) at epoch"
    assert any(c.value.startswith(stopped) for c in at.caption)


@pytest.mark.slow  # trains in worker processes
def test_paper_page_shows_every_experiment_and_reruns_a_small_version_live(app):
    at = show(app, "paper")
    assert at.header[0].value == "The paper's claims at a glance"
    sections = [e.label for e in at.expander if e.label != "Each claim's numbers: effect, 95% interval, p-values"]
    assert sections == [e.title for e in paper.EXPERIMENTS] + ["Figure 5(a): the custom backward against autograd"]
    for name in [e.name for e in paper.EXPERIMENTS] + ["figure5a"]:
        at.session_state[f"paper.open.{name}"] = True  # every section opened
    at.run()
    for info in at.info:  # an experiment without committed results says how to run it
        assert "python -m dilate_lab sweep sweeps/" in info.value or "python -m bench.figure5a" in info.value
    next(b for b in at.button if b.key == "paper.rerun.table1_synthetic").click().run()
    assert not at.exception
    # Queued as ordinary jobs, it shows its progress under the button; the browser test
    # (test_paper_page_reruns_a_small_version_live) watches it to the end.
    assert any(b.key == "paper.rerun.table1_synthetic" and b.disabled for b in at.button)


def test_train_page_warns_that_dilate_can_stall_on_ecg5000_at_a_small_gamma_without_warmup(app):
    at = show(app, "data")
    at.radio(key="data.source").set_value("ecg5000").run()
    at = show(at, "train")
    assert any("can stay near the flat forecast" in c.value for c in at.caption)  # the paper's gamma, 0.01
    assert any("committed ECG5000 runs" in c.value for c in at.caption)  # a 100-epoch run: shorter than the paper's
    assert not any("synthetic" in c.value for c in at.caption)
    at = show(at, "data")
    at.radio(key="data.source").set_value("synthetic").run()
    at = show(at, "train")
    assert not any("can stay near the flat forecast" in c.value for c in at.caption)
    assert any("DILATE's forecasts of the synthetic steps may still be partly flat" in c.value for c in at.caption)
    assert paper.flat_start_warning("ecg5000", 0.01, ("mse", "dilate"), mse_warmup=0) is not None
    assert paper.flat_start_warning("ecg5000", 0.01, ("mse", "dilate"), mse_warmup=100) is None


def test_a_worker_that_finds_the_app_script_as_its_main_module_does_nothing():
    # What multiprocessing's spawn does in a worker started while a session's script held
    # sys.modules["__main__"]: it runs the script first, as __mp_main__, outside any session.
    namespace = runpy.run_path(str(Path(__file__).parent.parent / "app.py"), run_name="__mp_main__")
    assert callable(namespace["main"])  # defined, not run (running it raises outside a session)


def test_data_page_tells_how_the_steps_are_made_and_counts_in_whole_numbers(app):
    at = show(app, "data")
    dataset = at.session_state[keys.DATA]
    early = int((dataset.test_breaks < dataset.n_input).sum())  # the steps that fall in the input window
    assert any("two peaks" in m.value for m in at.markdown)
    assert any(c.value.startswith(f"{early} of the 500 test series") for c in at.caption)
    summary = at.dataframe[0].value["value"]
    assert summary["training windows"] == "500" and summary["test series with the step in the input"] == str(early)
    assert summary["mean of the training inputs"] == f"{dataset.train_x.mean():.3g}"
    assert len(at.get("plotly_chart")) == 6  # one chart per example: they stack on a phone


def test_a_five_epoch_run_says_its_forecasts_are_flat_on_every_page_that_shows_tdi(app):
    at = show(app, "data")
    at.slider(key="data.synthetic.n_series").set_value(100).run()
    at = show(at, "train")
    at.number_input(key="train.epochs").set_value(5)
    next(b for b in at.button if b.label == "Start training").click().run()
    wait_for_the_run(at)
    assert any("are flat so far" in w.value for w in at.warning)  # Train, beside the TDI curve
    assert at.query_params["source"] == "synthetic" and at.query_params["n_series"] == "100"  # the run's link
    assert at.query_params["epochs"] == "5"
    at = show(at, "results")
    assert any("The forecasts of MSE, soft-DTW, DILATE are flat" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert list(table["metric"].unique()) == ["MSE ×100", "DTW ×100", "TDI ×10"]
    assert all(text.startswith("flat") for text in table["forecasts"])
    assert any("paper trains up to 1000" in i.value for i in at.info)
    at = show(at, "alignments")
    assert any("This forecast is flat" in w.value for w in at.warning)
    assert any("Each cell (i, j) pairs" in m.value for m in at.markdown)
    at = show(at, "train")
    at.number_input(key="train.more").set_value(1)
    next(b for b in at.button if b.label == "Continue training").click().run()
    wait_for_the_run(at)
    assert "Run #1 done after 6 epochs" in at.success[0].value  # a continued run keeps its number


def test_alignments_follow_a_run_while_it_trains(app):
    at = show(app, "data")
    at.slider(key="data.synthetic.n_series").set_value(100).run()
    at = show(at, "train")
    at.number_input(key="train.epochs").set_value(2000)
    next(b for b in at.button if b.label == "Start training").click().run()
    try:
        at = show(at, "alignments")
        for _ in range(120):  # the run's first report (before training) carries its first forecasts
            if at.radio:
                break
            time.sleep(0.5)
            at.run()
        assert at.radio[0].options == ["0", "24", "49", "74", "99"]  # the series every evaluation forecasts
        assert any("the page follows the run" in c.value for c in at.caption)
        assert len(at.get("plotly_chart")) == 9  # forecast, cost matrix and soft map of each model
    finally:
        at = show(at, "train")
        next(b for b in at.button if b.label == "Stop training").click().run()


def a_new_visitor() -> None:
    """End the session the earlier AppTests ran as, as a closed tab ends (its jobs stop, queued ones are
    dropped): every AppTest runs as one session id (AppTest's "test session id"), so without this their
    runs would all be one visitor's, and a run still stopping from an earlier test would hold this
    visitor's one unfinished run (DILATE_RUNS_PER_SESSION) and refuse this test's."""
    clear_session_cache(APP_TEST_SESSION_ID)


def test_a_shared_results_link_offers_to_train_its_configuration():
    a_new_visitor()
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
    at.query_params.update({"source": "synthetic", "n_series": "100", "sigma": "0.02", "epochs": "2"})
    at.run()
    show(at, "results")
    assert "Runs stay private to the tab that trains them" in at.info[0].value
    next(b for b in at.button if b.label == "Train this configuration").click().run()
    assert not at.exception
    assert at.session_state[keys.DATA].train_x.shape == (100, 20, 1)
    assert at.session_state[keys.DATA_SETTINGS]["sigma"] == 0.02
    assert at.session_state[keys.JOB] is not None  # started on arrival at Train, with the link's settings
    at = show(at, "train")  # where a browser goes (AppTest stays on the page that switched)
    wait_for_the_run(at)
    assert "Run #1 done after 2 epochs" in at.success[0].value


def test_the_alignments_picker_jumps_to_where_the_losses_disagree_on_ecg5000(app):
    at = show(app, "data")
    at.radio(key="data.source").set_value("ecg5000").run()
    at = show(at, "train")
    at.number_input(key="train.epochs").set_value(1)
    next(b for b in at.button if b.label == "Start training").click().run()
    wait_for_the_run(at)
    at.switch_page("pages/alignments.py")
    at.run(timeout=300)  # scores all 4500 test series once (cached)
    assert not at.exception
    table = at.dataframe[0].value  # the series where the models' DTW differ most, largest gap first
    gaps = table[["MSE", "soft-DTW", "DILATE"]].max(axis=1) - table[["MSE", "soft-DTW", "DILATE"]].min(axis=1)
    assert list(table["DTW gap"]) == sorted(table["DTW gap"], reverse=True)
    assert (abs(gaps - table["DTW gap"]) < 0.02).all() and at.number_input(key="align.series").max == len(
        at.session_state[keys.DATA].test_x
    ) - 1
    next(b for b in at.button if b.label == "Where the losses disagree most").click().run()
    assert not at.exception and at.number_input(key="align.series").value == table.index[0]
    assert at.query_params["series"] == str(table.index[0]) and at.query_params["source"] == "ecg5000"
    assert any("DTW ×10 " in c.value for c in at.caption)  # ECG5000's DTW at the paper's x10


def test_train_shows_its_whole_form_while_a_fresh_servers_training_kernels_compile(app, monkeypatch):
    # They take about a minute on a fresh server: the expected duration says it comes later.
    from explorer import server

    class Compiling:
        def ready(self, groups):
            return False

        def want(self, groups):
            pass

        def wait(self, groups, timeout=None, wanted=True):
            raise AssertionError(f"the page waited for {groups}")

    at = show(app, "data")
    monkeypatch.setattr(server, "compiler", Compiling)
    at = show(at, "train")
    captions = [caption.value for caption in at.caption]
    assert (
        "Expected duration on this server: known once its training kernels are compiled (once per server)." in captions
    )
    assert at.button(key="train.start").label == "Start training"


def test_a_failed_run_shows_its_message_with_the_traceback_collapsed_under_it(app, monkeypatch):
    from dilate_lab.train import Config
    from explorer import server
    from explorer.jobs import FAILED, Job

    trace = 'Traceback (most recent call last):\n  File "explorer/jobs.py", line 1, in run_job\nValueError: bad data\n'
    failed = Job(7, "someone", Config(), 3, 0, state=FAILED, error="ValueError: bad data", traceback=trace)
    at = show(app, "data")
    monkeypatch.setattr(server, "current_job", lambda: failed)
    at = show(at, "train")
    assert at.error[0].value == "The run failed: ValueError: bad data"
    (details,) = at.expander
    assert details.label == "Details (the worker's traceback)" and not details.proto.expanded
    assert details.code[0].value == trace.rstrip("\n")  # st.code drops the final newline


def test_train_says_why_the_untrained_models_tdi_is_near_0(app, monkeypatch):
    from dataclasses import asdict

    from dilate_core.metrics import per_series
    from dilate_lab.train import Trainer
    from explorer import server
    from explorer.jobs import DONE, Job

    config = Config(n_series=20, batch_size=10, hidden=4, losses=("mse", "dilate"), n_preview=3)
    dataset = make_synthetic(20)
    start = asdict(Trainer(config, dataset).initial_report())  # epoch 0: untrained, scored on the test series
    done = Job(3, "someone", config, 1, 0, state=DONE, reports=[start])
    at = show(app, "data")
    at.session_state[keys.RUN_DATASET] = dataset
    monkeypatch.setattr(server, "current_job", lambda: done)
    at = show(at, "train")
    tdi = f"{start['test']['mse']['tdi'] * 10:.3g}"  # the same weights for both models: the same TDI
    assert start["test"]["dilate"]["tdi"] == start["test"]["mse"]["tdi"]
    (said,) = [c.value for c in at.caption if c.value.startswith("Untrained (epoch 0)")]
    # beside the trained Seq2Seq models of the paper's Table 1 (TDI ×10: DILATE 14.8, MSE 17.2, soft-DTW 20.0)
    assert said.startswith(
        f"Untrained (epoch 0), TDI ×10 is {tdi} for every model: near 0 beside the paper's trained models' 14.8 to "
        "20, and not because the timing is right."
    )
    # Its reason, from the metric itself: a flat forecast's DTW path is the diagonal, TDI exactly 0.
    flat = np.full_like(dataset.test_y, 0.3)
    assert per_series(flat, dataset.test_y)["tdi"].tolist() == [0.0] * len(flat)


def finished_run(monkeypatch):
    """A one-epoch run on 20 synthetic series, done, as every page's current run: (trainer, dataset, job)."""
    import explorer.finished
    from dilate_core.data import make_synthetic
    from dilate_lab.train import Config, Trainer
    from explorer.jobs import DONE, Job

    config = Config(n_series=20, batch_size=10, hidden=4, epochs=1, n_preview=0)
    dataset = make_synthetic(20)
    trainer = Trainer(config, dataset)
    list(trainer.run())
    job = Job(9, "someone", config, 1, 0, state=DONE, checkpoint=b"saved")
    job.reports.append({"epoch": 1})
    monkeypatch.setattr(explorer.finished, "current_run", lambda page, live=False: (trainer, dataset, job))
    return trainer, dataset, job


def test_results_scores_a_run_once_for_every_visit(monkeypatch):
    from dilate_core import metrics

    trainer, dataset, job = finished_run(monkeypatch)
    config = job.config
    calls = []
    scored = metrics.per_series

    def counted(pred, target):  # the run's test series; not the tiny inputs that compile the kernels
        calls.extend([1] if len(target) == len(dataset.test_y) else [])
        return scored(pred, target)

    monkeypatch.setattr(metrics, "per_series", counted)
    tables = []
    for _ in range(2):  # two visitors' sessions, or one visitor coming back
        at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)
        at.run()
        at = show(at, "results")
        tables.append(at.dataframe[0].value)
    assert len(calls) == len(config.losses)  # once per model, on the first visit only
    assert tables[0].equals(tables[1])
    expected = scored(trainer.predict(dataset.test_x)["dilate"], dataset.test_y)["dtw"].mean()
    ours = tables[0][(tables[0]["loss"] == "DILATE") & (tables[0]["metric"].str.startswith("DTW"))]["ours"]
    assert ours.iloc[0] == pytest.approx(expected * paper.scales(config.dataset)["dtw"], rel=5e-3)  # 3 digits shown


def points(values) -> int:
    """How many values a plotly trace's x holds in its JSON: a list, or numpy's bytes in base64."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"]).size
    return len(values)


def test_results_draws_a_subset_of_a_large_test_set_in_its_scatter_and_says_so(monkeypatch):
    from explorer import charts

    _, dataset, job = finished_run(monkeypatch)
    at = show(AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S), "results")
    assert not [c.value for c in at.caption if "Drawn:" in c.value]  # 20 series: every one drawn, nothing to say
    monkeypatch.setattr(charts, "SCATTER_SERIES", 7)  # as ECG5000's 4499 test series against 1000
    at = show(AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S), "results")
    (said,) = [c.value for c in at.caption if "Drawn:" in c.value]
    assert "Drawn: 7 of the 20 test series, chosen at random, the same for every loss" in said
    scatter = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = {trace["name"]: points(trace["x"]) for trace in scatter["data"]}
    assert sum(drawn.values()) == 7 * len(job.config.losses), drawn
    assert len(at.dataframe[0].value) == 3 * len(job.config.losses)  # the table: every series, 3 metrics
