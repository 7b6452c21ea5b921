"""DILATE as pytorch-forecasting's loss for N-HiTS (needs `pip install pytorch-forecasting`).

python examples/pytorch_forecasting_nhits.py
"""

import lightning.pytorch as pl
import numpy as np
import pandas as pd
from pytorch_forecasting import NHiTS, TimeSeriesDataSet

from dilate_core.integrations.pytorch_forecasting import DILATE

rng = np.random.default_rng(0)
frame = pd.DataFrame(
    {
        "series": np.repeat(np.arange(20).astype(str), 100),
        "time_idx": np.tile(np.arange(100), 20),
        "value": np.sin(np.tile(np.arange(100), 20) / 8.0) + 0.1 * rng.standard_normal(2000),
    }
)
dataset = TimeSeriesDataSet(
    frame,
    time_idx="time_idx",
    target="value",
    group_ids=["series"],
    max_encoder_length=24,
    max_prediction_length=12,
    min_prediction_length=12,  # N-HiTS forecasts a fixed horizon
    time_varying_unknown_reals=["value"],
)
model = NHiTS.from_dataset(dataset, loss=DILATE(), learning_rate=1e-3)  # each series scored on its decoder length
trainer = pl.Trainer(max_epochs=2, enable_progress_bar=False, logger=False)
trainer.fit(model, train_dataloaders=dataset.to_dataloader(train=True, batch_size=32, num_workers=0))
