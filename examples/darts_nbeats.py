"""DILATE as darts' loss_fn for N-BEATS (needs `pip install darts`).

python examples/darts_nbeats.py
"""

from darts.datasets import AirPassengersDataset
from darts.models import NBEATSModel

from dilate_core.integrations.darts import DILATELoss

series = AirPassengersDataset().load().astype("float32")
scaled = (series - series.mean()) / series.std()  # alpha and gamma suit series of unit scale
model = NBEATSModel(input_chunk_length=24, output_chunk_length=12, n_epochs=5, loss_fn=DILATELoss())
model.fit(scaled)
print(model.predict(12))
