"""Between the pages and the trainer: a Config from the page's settings and a run's history."""

from dilate_core.data import Dataset
from dilate_core.train import Config
from explorer.charts import LABELS


def config_for(dataset: Dataset, **training) -> Config:
    """A training Config for a loaded data set; the data fields let a checkpoint rebuild it."""
    info = dataset.info
    if dataset.name == "synthetic":
        fields = {
            "dataset": "synthetic",
            "n_series": info["n"],
            "sigma": info["sigma"],
            "noise": info["noise"],
            "data_seed": info["seed"],
        }
    elif dataset.name == "ecg5000":
        fields = {"dataset": "ecg5000"}
    elif dataset.name.startswith("etth1"):
        fields = {"dataset": "etth1"}
    else:
        fields = {"dataset": "csv"}
    return Config(**fields, n_input=dataset.n_input, n_output=dataset.n_output, **training)


def history(previous: list[dict], job) -> list[dict]:
    """All epoch reports of a run: those of the runs it continues, then the job's own."""
    return list(previous) + (list(job.reports) if job is not None else [])


def epochs_by_loss(epochs: dict[str, int]) -> str:
    """'MSE 40, soft-DTW 50, DILATE 30' from {loss: epoch}, for the best-validation captions."""
    return ", ".join(f"{LABELS[name]} {epoch}" for name, epoch in epochs.items())
