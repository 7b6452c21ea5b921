"""Seconds per training epoch in darts, pytorch-forecasting and neuralforecast, DILATE against MSE.

Each framework trains one model that forecasts the whole horizon (N-BEATS, NHiTS, NHITS) on the
same step series (8 series of 400 points, 48 steps in, 24 out, batches of 32), for a few epochs
with DILATE (`dilate_core.integrations`) and with the framework's squared error (MSE; RMSE in
pytorch-forecasting, which has no MSE); the table gives the median seconds per epoch and the
ratio. Torch on one thread, as a trial on a shared machine runs.
Run in the integrations venv (`make test-integrations` sets it up):

    .venv-integrations/bin/python -m bench.bench_integrations [--epochs 3] [--only darts ...]
"""

import argparse
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch

INPUT, HORIZON, SERIES, LENGTH, BATCH = 48, 24, 8, 400, 32


def step_series(k: int) -> np.ndarray:
    """(LENGTH,) float32: level shifts every 25 steps and small noise."""
    rng = np.random.default_rng(k)
    return (rng.uniform(-1, 1, LENGTH // 25 + 1).repeat(25)[:LENGTH] + 0.05 * rng.standard_normal(LENGTH)).astype(
        np.float32
    )


class EpochTimer:
    """Each training epoch's seconds (or each batch's, `batches=True`), kept by `callback`, a Lightning callback."""

    def __init__(self, batches: bool = False):
        import lightning.pytorch as pl

        seconds, starts = [], []

        class Callback(pl.Callback):
            def on_train_epoch_start(self, trainer, module):
                if not batches:
                    starts.append(time.perf_counter())

            def on_train_epoch_end(self, trainer, module):
                if not batches:
                    seconds.append(time.perf_counter() - starts[-1])

            def on_train_batch_start(self, trainer, module, batch, index):
                if batches:
                    starts.append(time.perf_counter())

            def on_train_batch_end(self, trainer, module, outputs, batch, index):
                if batches:
                    seconds.append(time.perf_counter() - starts[-1])

        self.seconds, self.callback = seconds, Callback()

    def median(self) -> float:
        return statistics.median(self.seconds[1:] or self.seconds)  # the first epoch compiles and warms up


def trainer_kwargs(folder, timer):
    return {
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": False,
        "enable_checkpointing": False,
        "default_root_dir": folder,
        "accelerator": "cpu",
        "callbacks": [timer.callback],
    }


def darts_epoch(use_dilate: bool, epochs: int, folder: str) -> float:
    from darts import TimeSeries
    from darts.models import NBEATSModel

    from dilate_core.integrations.darts import DILATELoss

    series = [TimeSeries.from_values(step_series(k)) for k in range(SERIES)]
    timer = EpochTimer()
    model = NBEATSModel(
        input_chunk_length=INPUT,
        output_chunk_length=HORIZON,
        num_stacks=4,
        num_blocks=1,
        layer_widths=64,
        n_epochs=epochs,
        batch_size=BATCH,
        loss_fn=DILATELoss() if use_dilate else torch.nn.MSELoss(),
        random_state=0,
        work_dir=folder,
        pl_trainer_kwargs=trainer_kwargs(folder, timer),
    )
    model.fit(series)
    return timer.median()


def pytorch_forecasting_epoch(use_dilate: bool, epochs: int, folder: str) -> float:
    import lightning.pytorch as pl
    import pandas as pd
    from pytorch_forecasting import NHiTS, TimeSeriesDataSet
    from pytorch_forecasting.metrics import RMSE

    from dilate_core.integrations.pytorch_forecasting import DILATE

    frame = pd.concat(
        [pd.DataFrame({"series": str(k), "time": np.arange(LENGTH), "value": step_series(k)}) for k in range(SERIES)],
        ignore_index=True,
    )
    dataset = TimeSeriesDataSet(
        frame,
        time_idx="time",
        target="value",
        group_ids=["series"],
        max_encoder_length=INPUT,
        max_prediction_length=HORIZON,
        time_varying_unknown_reals=["value"],
        target_normalizer=None,
    )
    model = NHiTS.from_dataset(dataset, loss=DILATE() if use_dilate else RMSE(), hidden_size=64, learning_rate=1e-3)
    timer = EpochTimer()
    trainer = pl.Trainer(max_epochs=epochs, **trainer_kwargs(folder, timer))
    trainer.fit(model, train_dataloaders=dataset.to_dataloader(train=True, batch_size=BATCH, num_workers=0))
    return timer.median()


def neuralforecast_epoch(use_dilate: bool, epochs: int, folder: str) -> float:
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import NHITS

    from dilate_core.integrations.neuralforecast import DILATE

    dates = pd.date_range("2020-01-01", periods=LENGTH, freq="h")
    frame = pd.concat(
        [pd.DataFrame({"unique_id": str(k), "ds": dates, "y": step_series(k)}) for k in range(SERIES)],
        ignore_index=True,
    )
    timer = EpochTimer(batches=True)
    # Its loop counts steps (batches), not epochs: an "epoch" here is as many batches of BATCH windows
    # as the others' epochs have, timed as that many times the median batch.
    steps = SERIES * (LENGTH - INPUT - HORIZON + 1) // BATCH
    model = NHITS(
        h=HORIZON,
        input_size=INPUT,
        loss=DILATE() if use_dilate else MSE(),
        max_steps=steps * epochs,
        val_check_steps=steps * epochs,
        batch_size=SERIES,
        windows_batch_size=BATCH,
        **trainer_kwargs(folder, timer),
    )
    NeuralForecast(models=[model], freq="h").fit(frame)
    return steps * timer.median()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=list(FRAMEWORKS), default=list(FRAMEWORKS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    import dilate_core

    dilate_core.warmup()
    print(f"torch {torch.__version__}, 1 thread; {SERIES} series of {LENGTH}, {INPUT} -> {HORIZON}, batches of {BATCH}")
    header = f"{'framework, model':<36} | {'MSE s/epoch':>11} | {'DILATE s/epoch':>14} | DILATE/MSE"
    print(header)
    print("-" * len(header))
    for framework in args.only:
        name, run = FRAMEWORKS[framework]
        with tempfile.TemporaryDirectory() as folder:
            mse = run(False, args.epochs, folder)
            dilate = run(True, args.epochs, folder)
        print(f"{name:<36} | {mse:>11.2f} | {dilate:>14.2f} | {dilate / mse:.1f}", flush=True)


FRAMEWORKS = {
    "darts": ("darts 0.48, N-BEATS", darts_epoch),
    "pytorch-forecasting": ("pytorch-forecasting 1.8, NHiTS", pytorch_forecasting_epoch),
    "neuralforecast": ("neuralforecast 3.3, NHITS", neuralforecast_epoch),
}


if __name__ == "__main__":
    main()
