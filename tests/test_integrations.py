"""DILATE inside darts, pytorch-forecasting and neuralforecast: values against dilate_loss, and training.

These frameworks are large and pin their own pandas: `make test-integrations` installs them in
.venv-integrations and runs this file; elsewhere each test is skipped when its framework is missing.
"""

import warnings

import numpy as np
import pytest
import torch

from dilate_core.losses import dilate_loss

pytestmark = pytest.mark.integrations

LENGTHS = [8, 3, 6, 1]


def steps_and_noise(n: int, seed: int = 0) -> np.ndarray:
    """A series of (n,) float32 values: level shifts every 25 steps plus small noise, the kind of
    sudden change DILATE is for."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(-1, 1, n // 25 + 1).repeat(25)[:n]
    return (levels + 0.05 * rng.standard_normal(n)).astype(np.float32)


def trimmed_mean(pred, target, lengths, alpha=0.5, gamma=0.01):
    """The mean over series of dilate_loss on each series cut to its length: the independent reference."""
    values = [dilate_loss(pred[b : b + 1, :n], target[b : b + 1, :n], alpha, gamma)[0] for b, n in enumerate(lengths)]
    return torch.stack(values).mean()


def quiet_trainer_kwargs(folder):
    """Lightning Trainer options: no progress bar, logs or checkpoints, anything it writes in `folder`."""
    return {
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": False,
        "enable_checkpointing": False,
        "default_root_dir": str(folder),
        "accelerator": "cpu",
    }


def test_importing_the_integrations_package_imports_no_framework():
    import subprocess
    import sys

    frameworks = "{'darts', 'pytorch_forecasting', 'neuralforecast'}"
    code = f"import sys, dilate_core.integrations; print(sorted({frameworks} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_darts_loss_weighs_each_series_by_its_sample_weights():
    from dilate_core.integrations.darts import DILATELoss

    B, N, C = 4, 10, 2
    generator = torch.Generator().manual_seed(0)
    pred, target = torch.randn(B, N, C, generator=generator), torch.randn(B, N, C, generator=generator)
    weights = torch.rand(B, N, C, generator=generator)
    loss_fn = DILATELoss()
    assert loss_fn(pred, target).item() == pytest.approx(dilate_loss(pred, target)[0].item(), rel=1e-6)
    loss_fn.reduction = "none"  # as darts sets it for sample weights
    assert loss_fn(torch.ones(2, 2), torch.zeros(2, 2)).shape == (2, 2)  # darts' own check
    weighted = (loss_fn(pred, target) * weights).mean()  # what darts computes
    per_series = [dilate_loss(pred[b : b + 1], target[b : b + 1])[0] for b in range(B)]
    expected = torch.stack(per_series) @ weights.mean(dim=(1, 2)) / B
    assert weighted.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("model_name", ["NBEATSModel", "TiDEModel", "BlockRNNModel"])
def test_darts_models_train_on_the_horizon_with_dilate_and_sample_weights(model_name, tmp_path):
    pytest.importorskip("darts")
    from darts import TimeSeries, models

    from dilate_core.integrations.darts import DILATELoss

    options = {
        "NBEATSModel": {"num_stacks": 2, "num_blocks": 1, "layer_widths": 32},
        "TiDEModel": {"hidden_size": 32},
        "BlockRNNModel": {"model": "GRU", "hidden_dim": 16},
    }[model_name]
    series = TimeSeries.from_values(steps_and_noise(300))
    loss_fn = DILATELoss(alpha=0.5, gamma=0.01)
    model = getattr(models, model_name)(
        input_chunk_length=24,
        output_chunk_length=12,
        n_epochs=2,
        batch_size=32,
        loss_fn=loss_fn,
        random_state=0,
        pl_trainer_kwargs=quiet_trainer_kwargs(tmp_path),
        work_dir=str(tmp_path),
        **options,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(series, sample_weight="linear")
    assert np.isfinite(model.trainer.callback_metrics["train_loss"].item())
    assert loss_fn.reduction == "mean"  # darts restores it after fitting with sample weights
    forecast = model.predict(12, series=series)  # (a trainer of its own)
    assert len(forecast) == 12 and np.isfinite(forecast.values()).all()


def test_pytorch_forecasting_metric_scores_each_series_on_its_decoder_length():
    pytest.importorskip("pytorch_forecasting")
    from torch.nn.utils import rnn

    from dilate_core.integrations.pytorch_forecasting import DILATE

    B, T = len(LENGTHS), max(LENGTHS)
    generator = torch.Generator().manual_seed(1)
    y_pred, target = torch.randn(B, T, 1, generator=generator), torch.randn(B, T, generator=generator)
    lengths = torch.tensor(LENGTHS)
    target = torch.where(torch.arange(T)[None, :] < lengths[:, None], target, 0.0)  # the framework's padding
    packed = rnn.pack_padded_sequence(target, lengths, batch_first=True, enforce_sorted=False)
    metric = DILATE()
    value = metric(y_pred, packed)
    expected = trimmed_mean(y_pred, target[..., None], LENGTHS)
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    padded = dilate_loss(y_pred, target[..., None])[0]  # what a loss that ignores the lengths gives
    assert abs(padded.item() - expected.item()) > 0.1
    weight = torch.tensor([1.0, 0.0, 2.0, 1.0])  # per-series weights, as a dataset's weight column gives
    weighted = DILATE()(y_pred, (packed, weight))
    per_series = [dilate_loss(y_pred[b : b + 1, :n], target[b : b + 1, :n, None])[0] for b, n in enumerate(LENGTHS)]
    assert weighted.item() == pytest.approx((torch.stack(per_series) @ weight / B).item(), rel=1e-5)


@pytest.mark.parametrize("model_name", ["NHiTS", "TemporalFusionTransformer"])
def test_pytorch_forecasting_models_train_with_dilate(model_name, tmp_path):
    pytest.importorskip("pytorch_forecasting")
    import lightning.pytorch as pl
    import pandas as pd
    import pytorch_forecasting
    from pytorch_forecasting import TimeSeriesDataSet

    from dilate_core.integrations.pytorch_forecasting import DILATE

    frame = pd.concat(
        [pd.DataFrame({"series": str(k), "time": np.arange(120), "value": steps_and_noise(120, k)}) for k in range(4)],
        ignore_index=True,
    )
    dataset = TimeSeriesDataSet(
        frame,
        time_idx="time",
        target="value",
        group_ids=["series"],
        max_encoder_length=24,
        max_prediction_length=12,
        # NHiTS forecasts a fixed horizon; the TFT takes ragged decoders, the lengths DILATE must honour.
        min_prediction_length=12 if model_name == "NHiTS" else 4,
        time_varying_unknown_reals=["value"],
        target_normalizer=None,
    )
    model = getattr(pytorch_forecasting, model_name).from_dataset(
        dataset, loss=DILATE(), hidden_size=16, learning_rate=1e-3
    )
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=5, **quiet_trainer_kwargs(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, train_dataloaders=dataset.to_dataloader(train=True, batch_size=16, num_workers=0))
    assert np.isfinite(trainer.callback_metrics["train_loss"].item())


def test_neuralforecast_loss_honours_a_prefix_mask_and_refuses_gaps():
    pytest.importorskip("neuralforecast")
    from dilate_core.integrations.neuralforecast import DILATE

    B, h, n = 2, 8, 2  # B windows of n series side by side
    generator = torch.Generator().manual_seed(2)
    y, y_hat = torch.randn(B, h, n, generator=generator), torch.randn(B, h, n, generator=generator)
    lengths = torch.tensor([[8, 3], [6, 1]])  # (B, n)
    mask = (torch.arange(h)[None, :, None] < lengths[:, None, :]).float()
    value = DILATE()(y=y, y_hat=y_hat, mask=mask)
    cells = [(b, k, int(lengths[b, k])) for b in range(B) for k in range(n)]
    expected = torch.stack([dilate_loss(y_hat[b, None, :m, k, None], y[b, None, :m, k, None])[0] for b, k, m in cells])
    expected = expected.mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    mask[0, 1, 0] = 0.0  # a gap inside the first series
    with pytest.raises(ValueError, match="prefix"):
        DILATE()(y=y, y_hat=y_hat, mask=mask)


def test_neuralforecast_nhits_trains_with_dilate(tmp_path):
    pytest.importorskip("neuralforecast")
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.models import NHITS

    from dilate_core.integrations.neuralforecast import DILATE

    frame = pd.DataFrame(
        {"unique_id": "a", "ds": pd.date_range("2020-01-01", periods=200, freq="h"), "y": steps_and_noise(200)}
    )
    model = NHITS(h=12, input_size=24, loss=DILATE(), max_steps=10, batch_size=8, **quiet_trainer_kwargs(tmp_path))
    forecaster = NeuralForecast(models=[model], freq="h")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(frame)
        forecast = forecaster.predict()
    assert len(forecast) == 12 and np.isfinite(forecast["NHITS"].to_numpy()).all()
