"""Models' shapes, the side-by-side trainer (learning, determinism, stopping, checkpoints) and the CLI."""

import dataclasses
import shlex
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from dilate_lab.cli import main
from dilate_lab.config import BY_SOURCE
from dilate_lab.data import ASSETS, make_synthetic
from dilate_lab.model import build_model
from dilate_lab.settings import SETTINGS
from dilate_lab.train import Config, Trainer, load_dataset, validation_split

TINY = {"n_series": 40, "batch_size": 16, "hidden": 16, "eval_every": 2, "n_preview": 3}


@pytest.mark.parametrize("kind", ["seq2seq", "mlp"])
@pytest.mark.parametrize("batch", [1, 7, 100])
@pytest.mark.parametrize("d", [1, 3])
def test_models_map_inputs_to_forecasts_of_any_batch(kind, batch, d):
    model = build_model(kind, n_features=d, n_input=12, n_output=5, hidden=8)
    out = model(torch.rand(batch, 12, d))
    assert out.shape == (batch, 5, d)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_seq2seq_starts_decoding_from_the_last_observed_value():
    model = build_model("seq2seq", n_features=1, n_input=6, n_output=3, hidden=8)
    x = torch.rand(4, 6, 1)
    changed = x.clone()
    changed[:, -1] += 1.0
    assert not torch.allclose(model(x)[:, 0], model(changed)[:, 0])


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("transformer", 1, 4, 4)


def run(config: Config, epochs: int):
    trainer = Trainer(config, make_synthetic(config.n_series, seed=config.data_seed))
    return trainer, list(trainer.run(epochs))


def test_models_start_equal_and_every_loss_decreases():
    config = Config(**TINY, lr=1e-2)
    trainer = Trainer(config, make_synthetic(40))
    first = [m.state_dict() for m in trainer.models.values()]
    for name in first[0]:
        assert torch.equal(first[0][name], first[1][name]) and torch.equal(first[0][name], first[2][name])
    reports = list(trainer.run(12))
    for name in config.losses:
        assert reports[-1].train[name]["loss"] < reports[0].train[name]["loss"]


def test_reports_carry_metrics_and_previews_on_eval_epochs():
    config = Config(**TINY, parallel=False)  # one model at a time: the phases add up within the epoch
    _, reports = run(config, 4)
    assert [r.test is not None for r in reports] == [True, True, False, True]
    report = reports[-1]
    assert set(report.test) == {"mse", "soft_dtw", "dilate"}
    assert set(report.test["dilate"]) == {"mse", "dtw", "tdi"}
    assert np.array(report.previews["mse"]).shape == (3, 20, 1)
    assert set(report.timing) == {"forward", "loss", "backward", "optimizer", "eval"}
    assert min(report.timing.values()) >= 0 and sum(report.timing.values()) <= report.seconds  # phases of it


def test_the_last_epoch_of_a_call_is_evaluated_even_off_the_evaluation_cadence():
    # A 5-epoch run evaluating every 10 epochs would end judged on epoch 1's weights.
    trainer = Trainer(Config(**(TINY | {"eval_every": 10}), select_on_validation=True), make_synthetic(40))
    evaluated = [r.epoch for r in trainer.run(5) if r.test is not None]
    assert evaluated == [1, 5] and max(trainer.best_epochs.values()) <= 5
    evaluated = [r.epoch for r in trainer.run(7) if r.test is not None]  # continued: 6 to 12
    assert evaluated == [10, 12]


def test_a_run_without_previews_reports_its_metrics():
    _, reports = run(Config(**(TINY | {"n_preview": 0})), 2)
    assert reports[0].test and not reports[0].previews


def test_same_config_gives_identical_reports():
    config = Config(**TINY)
    (_, a), (_, b) = run(config, 3), run(config, 3)
    for x, y in zip(a, b, strict=True):
        assert x.train == y.train and x.test == y.test and x.previews == y.previews
    _, c = run(Config(**(TINY | {"seed": 1})), 3)
    assert c[0].train != a[0].train


def test_stopping_between_epochs_keeps_what_was_learned_and_continues():
    config = Config(**TINY)
    trainer = Trainer(config, make_synthetic(40))
    for report in trainer.run(10):
        if report.epoch == 2:
            break  # a Stop button: the generator is simply not resumed
    assert trainer.epoch == 2
    reports = list(trainer.run(2))
    assert [r.epoch for r in reports] == [3, 4]
    # continuing equals training straight through
    _, straight = run(config, 4)
    assert straight[-1].train == reports[-1].train


def test_checkpoint_round_trip(tmp_path):
    config = Config(**TINY)
    trainer, _ = run(config, 2)
    path = tmp_path / "run.pt"
    trainer.save(path)
    loaded = Trainer.load(path)
    assert loaded.config == config and loaded.epoch == 2
    x = torch.from_numpy(trainer.dataset.test_x[:5])
    for name in config.losses:
        np.testing.assert_array_equal(loaded.predict(x)[name], trainer.predict(x)[name])
    assert [r.train for r in list(loaded.run(1))] == [r.train for r in list(trainer.run(1))]


def test_selecting_on_validation_keeps_each_models_weights_from_its_best_epoch():
    config = Config(**TINY, lr=3e-2, select_on_validation=True)
    trainer, reports = run(config, 8)
    assert len(trainer._train_x) == config.n_series  # the synthetic data bring their own validation split
    for name in config.losses:
        losses = {r.epoch: r.val[name] for r in reports if r.val is not None}
        assert list(losses) == [1, 2, 4, 6, 8]
        best_epoch = min(losses, key=losses.get)
        assert trainer.best[name]["epoch"] == best_epoch and trainer.best[name]["loss"] == losses[best_epoch]
        # Training is deterministic, so the kept weights are those of a run stopped at that epoch.
        stopped, _ = run(config, best_epoch)
        np.testing.assert_array_equal(
            trainer.predict(trainer.dataset.test_x, best=True)[name], stopped.predict(stopped.dataset.test_x)[name]
        )
    assert trainer.evaluate(best=True) != trainer.evaluate()  # some model got worse after its best epoch


def test_early_stopping_stops_each_model_after_patience_evaluations_without_improvement(tmp_path):
    config = Config(**(TINY | {"eval_every": 1}), lr=3e-2, select_on_validation=True, patience=2)
    trainer, reports = run(config, 200)
    assert set(trainer.stopped) == set(config.losses)  # every model stopped ...
    assert trainer.epoch == max(trainer.stopped.values()) < 200  # ... and the run ended with the last one
    for name, stop in trainer.stopped.items():
        losses = {r.epoch: r.val[name] for r in reports if r.val and name in r.val}
        best = trainer.best[name]
        assert max(losses) == stop and losses[best["epoch"]] == min(losses.values()) == best["loss"]
        after_best = [epoch for epoch in losses if epoch > best["epoch"]]
        assert len(after_best) == config.patience  # exactly `patience` evaluations without a lower loss
        assert [r.epoch for r in reports if name in r.stopped] == [stop]
        # Its curves end at the stop; its weights are those of its best epoch from then on.
        assert all(name not in r.train and name not in r.test for r in reports if r.epoch > stop)
        assert all(name in r.train for r in reports if r.epoch <= stop)
    # The others went on: each epoch trained exactly the models not stopped before it.
    assert len(set(trainer.stopped.values())) > 1
    for report in reports:
        assert set(report.train) == {name for name, stop in trainer.stopped.items() if stop >= report.epoch}
    # Each stopped model keeps its best epoch's weights: those a run without stopping has at that epoch.
    best_epochs = {name: trainer.best[name]["epoch"] for name in trainer.stopped}
    straight, x, compared = Trainer(replace(config, patience=0), trainer.dataset), trainer.dataset.test_x, set()
    for report in straight.run(max(best_epochs.values())):
        for name in [name for name, epoch in best_epochs.items() if epoch == report.epoch]:
            np.testing.assert_array_equal(trainer.predict(x)[name], straight.predict(x)[name])
            compared.add(name)
    assert compared == set(config.losses)
    # The stopped models stay stopped in a saved run that continues.
    path = tmp_path / "run.pt"
    trainer.save(path)
    loaded = Trainer.load(path)
    assert loaded.stopped == trainer.stopped and list(loaded.run(5)) == []


def test_validation_comes_from_the_last_training_windows_when_the_data_have_none(tmp_path):
    dataset = make_synthetic(40)
    dataset.val_x = dataset.val_y = None
    config = Config(**TINY, select_on_validation=True)
    trainer = Trainer(config, dataset)
    np.testing.assert_array_equal(trainer._train_x.numpy(), dataset.train_x[:32])
    np.testing.assert_array_equal(trainer._val_x.numpy(), dataset.train_x[32:])
    list(trainer.run(2))
    path = tmp_path / "run.pt"
    trainer.save(path)
    loaded = Trainer.load(path, dataset)
    assert loaded.best.keys() == trainer.best.keys()
    for name in config.losses:
        np.testing.assert_array_equal(
            loaded.predict(dataset.test_x, best=True)[name], trainer.predict(dataset.test_x, best=True)[name]
        )


def test_ecg5000_validation_is_a_seeded_random_fifth_with_every_kind_of_beat():
    # The archive sorts its training series by class: the last fifth holds no normal beat at all.
    dataset = load_dataset(Config(dataset="ecg5000"))
    labels = np.loadtxt(ASSETS / "ECG5000_TRAIN.tsv", delimiter="\t", usecols=0)
    assert set(labels[-100:]) == {2, 3, 4, 5}
    row = {series.tobytes(): i for i, series in enumerate(dataset.train_x)}
    train_x, _, val_x, val_y = validation_split(dataset, seed=0)
    train_rows, val_rows = [[row[s.tobytes()] for s in part] for part in (train_x, val_x)]
    assert len(val_rows) == 100 and sorted(train_rows + val_rows) == list(range(500))
    np.testing.assert_array_equal(val_y, dataset.train_y[val_rows])
    assert set(labels[val_rows]) >= {1, 2} and set(labels[train_rows]) >= {1, 2, 3, 4}
    np.testing.assert_array_equal(validation_split(dataset, seed=0)[2], val_x)
    assert not np.array_equal(validation_split(dataset, seed=1)[2], val_x)
    trainer = Trainer(Config(dataset="ecg5000", select_on_validation=True, data_seed=1, hidden=8), dataset)
    np.testing.assert_array_equal(trainer._val_x.numpy(), validation_split(dataset, seed=1)[2])


def test_a_config_takes_its_data_sources_lengths_unless_told_otherwise():
    ecg = Config(dataset="ecg5000")  # the paper's 84 -> 56, not the synthetic data's 20 -> 20
    assert (ecg.n_input, ecg.n_output) == (84, 56)
    dataset = load_dataset(ecg)
    assert (dataset.n_input, dataset.n_output) == (ecg.n_input, ecg.n_output)
    # ECG5000's horizon is what the 140 steps leave, whatever the caller says.
    assert Config(dataset="ecg5000", n_input=100, n_output=20).n_output == 40
    assert (Config(dataset="etth1").n_input, Config(dataset="etth1").n_output) == (48, 24)
    assert (Config().n_input, Config(dataset="etth1", n_input=12).n_input) == (20, 12)
    with pytest.raises(ValueError, match="n_input"):
        Config(dataset="ecg5000", n_input=140)


def test_an_mse_warmup_trains_every_model_with_mse_before_its_own_loss():
    config = Config(**(TINY | {"eval_every": 1}), losses=("mse", "dilate"), select_on_validation=True, mse_warmup=3)
    trainer = Trainer(config, make_synthetic(config.n_series, seed=0))
    x = trainer.dataset.test_x
    reports = list(trainer.run(3))
    forecasts = trainer.predict(x)
    np.testing.assert_array_equal(forecasts["mse"], forecasts["dilate"])  # same start, batches and loss
    assert reports[-1].train["mse"] == reports[-1].train["dilate"]
    assert all(report.val is None for report in reports) and trainer.best == {}  # nothing selected yet
    reports = list(trainer.run(2))
    forecasts = trainer.predict(x)
    assert not np.array_equal(forecasts["mse"], forecasts["dilate"])
    assert reports[-1].train["dilate"]["loss"] > 10 * reports[-1].train["mse"]["loss"]  # DILATE's own scale
    assert [report.val is not None for report in reports] == [True, True]
    assert min(trainer.best_epochs.values()) >= 4


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"alpha": 1.5}, "alpha"),
        ({"gamma": 0}, "gamma"),
        ({"losses": ("mse", "huber")}, "losses must be distinct names among"),
        ({"dataset": "traffic"}, "dataset must be one of"),
        ({"batch_size": 0}, "batch_size"),
        ({"select_on_validation": "yes"}, "select_on_validation must be True or False"),
        ({"patience": 3}, "needs select_on_validation"),
        ({"patience": -1, "select_on_validation": True}, "patience"),
    ],
)
def test_config_rejects_bad_settings(changes, message):
    with pytest.raises(ValueError, match=message):
        Config(**changes)


def test_cli_train_and_reproduce(tmp_path, capsys):
    common = ["--n-series", "20", "--epochs", "2", "--hidden", "8", "--batch-size", "10"]
    assert main(["train", *common, "--save", str(tmp_path / "run.pt")]) == 0
    out = capsys.readouterr().out
    assert "MSE x100" in out and "dilate" in out and (tmp_path / "run.pt").exists()
    # reproduce: a sweep with one cell, its store and summary in --out.
    arguments = ["reproduce", *common, "--runs", "2", "--select-on-validation", "--out", str(tmp_path / "r")]
    assert main(arguments) == 0
    markdown = (tmp_path / "r" / "summary.md").read_text()
    assert markdown.startswith("# Sweep: 2 of 2 runs done")
    assert f"Command: `python -m dilate_lab {shlex.join(arguments)}`" in markdown.splitlines()
    assert "lowest validation loss" in markdown  # (the last epoch's table too, where its weights differ)
    table = (tmp_path / "r" / "summary.csv").read_text().splitlines()
    assert table[0] == "protocol,loss,metric,scale,runs,mean,std,paper_mean,paper_std,p_value,verdict,direction"
    assert any(line.startswith("last,dilate,tdi,") for line in table)  # both protocols are kept
    row = next(line for line in table if line.startswith("best,dilate,tdi,"))
    assert ",10,2," in row and ",14.8,1.29," in row  # TDI x10 over 2 runs, beside Table 1
    assert main(["reproduce", *common, "--runs", "1", "--workers", "1"]) == 0  # no --out: nothing kept
    assert "# Sweep: 1 of 1 runs done" in capsys.readouterr().out


def test_cli_rejects_bad_settings_with_a_message(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--alpha", "2"])
    assert "alpha must be a number from 0.0 to 1.0, got 2.0" in capsys.readouterr().err


def test_parallel_and_sequential_training_give_the_same_reports():
    threads = torch.get_num_threads()
    _, parallel = run(Config(**TINY, parallel=True), 3)
    assert torch.get_num_threads() == threads  # restored after the run
    _, sequential = run(Config(**TINY, parallel=False), 3)
    for a, b in zip(parallel, sequential, strict=True):
        assert a.train == b.train and a.test == b.test and a.previews == b.previews


def test_a_run_without_test_metrics_trains_the_same_and_still_validates_and_stops():
    config = Config(**(TINY | {"eval_every": 1}), lr=3e-2, select_on_validation=True, patience=2)
    scored, with_test = run(config, 60)
    trainer = Trainer(config, make_synthetic(config.n_series, seed=config.data_seed))
    without_test = list(trainer.run(60, test_metrics=False))
    assert any(r.test for r in with_test) and not any(r.test for r in without_test)
    assert scored.stopped  # early stopping happened within the run
    for a, b in zip(with_test, without_test, strict=True):
        assert (a.train, a.val, a.stopped, a.previews) == (b.train, b.val, b.stopped, b.previews)
    assert trainer.stopped == scored.stopped and trainer.best_epochs == scored.best_epochs
    x = trainer.dataset.test_x
    for best in (False, True):
        for name, forecast in trainer.predict(x, best=best).items():
            np.testing.assert_array_equal(forecast, scored.predict(x, best=best)[name])


def test_the_soft_dtw_divergence_trains_as_a_fourth_loss():
    config = Config(**(TINY | {"losses": ("mse", "soft_dtw", "dilate", "sdtw_div")}), lr=1e-2)
    _, reports = run(config, 8)
    assert set(reports[-1].train) == {"mse", "soft_dtw", "dilate", "sdtw_div"}
    assert reports[-1].train["sdtw_div"]["loss"] < reports[0].train["sdtw_div"]["loss"]
    assert reports[-1].train["sdtw_div"]["loss"] >= 0  # a divergence is never negative


def test_the_tangled_dilate_variants_train_side_by_side():
    config = Config(**(TINY | {"losses": ("dilate", "dilate_t_weighted", "dilate_t_band")}), lr=1e-2)
    trainer, reports = run(config, 8)
    for name in ("dilate_t_weighted", "dilate_t_band"):
        assert reports[-1].train[name]["loss"] < reports[0].train[name]["loss"]
    # Each model's report carries DILATE's two parts, whatever loss it trains on.
    assert all(set(part) == {"loss", "shape", "temporal"} for part in reports[0].train.values())


@pytest.mark.parametrize(
    "settings",
    [
        {"dataset": "synthetic", "n_series": 30, "sigma": 0.05, "noise": "gaussian", "data_seed": 7, "n_input": 12},
        {"dataset": "ecg5000", "n_input": 100, "n_output": 40},
        {"dataset": "etth1", "column": "HUFL", "n_input": 24, "n_output": 12, "stride": 48},
    ],
)
def test_a_saved_run_reloads_the_very_data_it_was_trained_on(tmp_path, settings):
    config = Config(**settings, hidden=4, epochs=0, n_preview=0)
    dataset = load_dataset(config)
    Trainer(config, dataset).save(tmp_path / "run.pt")
    reloaded = Trainer.load(tmp_path / "run.pt").dataset  # rebuilt from the saved settings alone
    assert reloaded.name == dataset.name and reloaded.info == dataset.info
    for part in ("train_x", "train_y", "test_x", "test_y"):
        np.testing.assert_array_equal(getattr(reloaded, part), getattr(dataset, part))


def test_importing_the_core_loads_no_part_of_the_app():
    code = (
        "import sys, dilate_core, dilate_lab.cli, dilate_lab.train, dilate_lab.playground, dilate_lab.sources; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'explorer', 'pages', 'plotly')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_config_repeats_the_settings_registry_field_for_field():
    fields = {f.name: f for f in dataclasses.fields(Config)}
    assert list(fields) == list(SETTINGS)  # same names, same order
    for name, setting in SETTINGS.items():
        expected = None if name in BY_SOURCE else setting.default
        assert fields[name].default == expected, name
        kind = tuple[str, ...] if setting.kind is tuple else setting.kind
        assert fields[name].type in (kind, kind | None), name
    # The per-source defaults are the sources' own: every source offers those it reads.
    assert {"n_input", "n_output", "stride"} == BY_SOURCE
    assert Config(dataset="etth1").stride == 24 and Config(dataset="csv").stride == 1
