"""Packed runs (dilate_lab.shipped), when a series' TDI reads as timing (dilate_lab.scores), and
the training replay's figure (explorer.charts_replay)."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from dilate_core import metrics
from dilate_core.data import Dataset, make_synthetic
from dilate_lab import shipped
from dilate_lab.config import Config
from dilate_lab.scores import diagonal_by_ties, tdi_reading, tdi_zero_share, timed_series
from dilate_lab.train import Trainer
from explorer import charts_replay

TINY = Config(n_series=30, batch_size=10, hidden=8, epochs=4, eval_every=1, n_preview=3, select_on_validation=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    trainer = Trainer(TINY, make_synthetic(TINY.n_series))
    list(trainer.run())
    path = tmp_path_factory.mktemp("packed") / "synthetic.pt"
    shipped.save(trainer, path, "the test's command")
    return trainer, path


def test_a_packed_run_loads_with_the_best_weights_the_replay_and_scores_equal_to_a_recomputation(trained):
    trainer, path = trained
    run = shipped.load(path)
    assert run.epoch == 4 and run.command == "the test's command" and run.best_epochs == trainer.best_epochs
    assert "Trained 4 epochs" in run.label() and "seed 0" in run.label()
    best = trainer.predict(trainer.dataset.test_x, best=True)
    again = run.trainer.predict(run.trainer.dataset.test_x, best=True)
    for name in best:
        np.testing.assert_allclose(again[name], best[name], atol=1e-6)
        recomputed = metrics.per_series(best[name], trainer.dataset.test_y)  # from the checkpoint's weights
        for metric in ("mse", "dtw", "tdi"):
            np.testing.assert_allclose(run.scores[name][metric], recomputed[metric], rtol=1e-5, atol=1e-6)
    previews = {r["epoch"]: r["previews"] for r in run.reports if r.get("previews")}
    assert sorted(previews) == [1, 2, 3, 4]
    for report in trainer.reports:  # float16 in the file: three significant digits
        for name, forecast in report.previews.items():
            np.testing.assert_allclose(previews[report.epoch][name], forecast, rtol=2e-3, atol=2e-3)


def test_a_truncated_or_foreign_file_says_what_it_is(trained, tmp_path):
    _, path = trained
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable packed run"):
        shipped.load(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"models": {}}, foreign)
    with pytest.raises(ValueError, match="make shipped-runs"):
        shipped.load(foreign)


def _dataset(targets: np.ndarray, breaks=None, n_input: int = 4) -> Dataset:
    y = targets[:, :, None].astype(np.float32)
    x = np.zeros((len(y), n_input, 1), np.float32)
    return Dataset("test", x, y, x, y, test_breaks=None if breaks is None else np.asarray(breaks))


def test_a_step_counts_for_timing_only_inside_the_window_after_its_first_step_and_high_enough():
    n_input, steps = 4, np.arange(6)
    # the window is steps 4-9: a step in the input, at the window's first step, three inside, one too low
    rows, breaks = [], [2, 4, 5, 7, 9, 6]
    heights = [1.0, 1.0, 1.0, 1.0, 1.0, 0.05]
    for at, height in zip(breaks, heights, strict=True):
        rows.append(height * (n_input + steps >= at))
    timed = timed_series(_dataset(np.array(rows), breaks, n_input))
    assert timed.tolist() == [False, False, True, True, True, False]
    # without breakpoints: a target moving a tenth as much as the median one is flat
    waves = np.sin(np.linspace(0, 6, 20))[None] * np.array([[1.0], [1.0], [0.05]])
    assert timed_series(_dataset(waves)).tolist() == [True, True, False]


def test_tdi_zero_by_ties_is_named_for_a_forecast_far_from_its_target_and_not_for_one_on_time():
    target = np.r_[np.zeros(6), np.ones(6)][:, None]
    far = np.r_[np.full(6, 3.0), np.full(6, -2.0)][:, None]  # far everywhere, the wrong way
    scores = metrics.per_series(far[None], target[None])
    assert scores["tdi"][0] == 0  # the diagonal wins by ties
    assert diagonal_by_ties(far, target, scores["tdi"][0])
    assert "by ties" in tdi_reading(far, target, scores["tdi"][0], timed=True)
    on_time = target + 0.01
    assert tdi_reading(on_time, target, 0.0, timed=True) is None
    assert "no step inside the forecast window" in tdi_reading(on_time, target, 0.0, timed=False)
    late = np.r_[np.zeros(8), np.ones(4)][:, None]
    tdi = metrics.per_series(late[None], target[None])["tdi"][0]
    assert tdi > 0 and tdi_reading(late, target, tdi, timed=True) is None


def test_the_share_of_tdi_zero_equals_a_direct_count(trained):
    trainer, path = trained
    run = shipped.load(path)
    shares = tdi_zero_share(run.scores)
    for name, forecasts in trainer.predict(trainer.dataset.test_x, best=True).items():
        direct = metrics.per_series(forecasts, trainer.dataset.test_y)["tdi"]
        assert shares[name] == pytest.approx(np.count_nonzero(direct == 0) / len(direct))


def test_the_replay_opens_on_the_last_epoch_and_its_frames_change_the_forecast_the_path_and_the_soft_map():
    target = np.r_[np.zeros(5), np.ones(5)][:, None]
    early = {"mse": np.full((10, 1), 0.5), "dilate": np.full((10, 1), 0.4)}
    late = {"mse": np.r_[np.zeros(7), np.ones(3)][:, None], "dilate": np.r_[np.zeros(4), np.ones(6)][:, None]}
    fig = charts_replay.replay(np.zeros((6, 1)), target, [(1, early), (50, late)], gamma=0.1, breakpoint=11)
    assert [frame.name for frame in fig.frames] == ["1", "50"]
    assert fig.layout.sliders[0].active == 1 and [s.label for s in fig.layout.sliders[0].steps] == ["1", "50"]
    first, last = fig.frames
    assert len(first.traces) == len(first.data) == 2 * 5  # forecast, cost, path, soft map, path per model

    def values(trace) -> np.ndarray:  # what a frame changes: a line's y, a heatmap's z
        return np.asarray(trace.z if isinstance(trace, go.Heatmap) else trace.y, dtype=float)

    for i, trace in zip(last.traces, last.data, strict=True):  # the figure opens on the last frame
        np.testing.assert_allclose(values(fig.data[i]), values(trace))
    moved = [
        values(a).shape != values(b).shape or not np.allclose(values(a), values(b))
        for a, b in zip(first.data, last.data, strict=True)
    ]
    assert all(moved)  # every forecast, path and map changed between the two epochs
    play = fig.layout.updatemenus[0].buttons[0]
    assert list(play.args[0]) == ["1", "50"] and play.args[1]["frame"]["duration"] == 5000


def test_the_replay_keeps_every_evaluation_of_small_matrices_and_spreads_fewer_over_large_ones():
    epochs = [1, *range(10, 1010, 10)]  # a run's evaluations: epoch 1, then every 10
    assert charts_replay.replay_epochs(epochs[:30], 20, 20, 3) == epochs[:30]
    spread = charts_replay.replay_epochs(epochs, 20, 20, 3)
    assert len(spread) == charts_replay.MAX_FRAMES and spread[0] == 1 and spread[-1] == 1000
    assert charts_replay.play_seconds(len(spread)) == pytest.approx(charts_replay.PLAY_SECONDS, rel=0.05)
    few = charts_replay.replay_epochs(epochs, 56, 56, 3)
    assert len(few) == 15 and few[0] == 1 and few[-1] == 1000  # 300,000 cells // (2 x 3 x 56 x 56)
