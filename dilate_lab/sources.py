"""The data sources, one table: each one's label, the settings it offers (with its own defaults)
and how those settings load it. The core (`load_dataset`), the command line (its
per-source defaults) and the app's Data page all read this table.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dilate_lab import data
from dilate_lab.settings import SETTINGS, Setting


@dataclass(frozen=True)
class Source:
    """One data source: `settings` are the Config fields it reads, as it offers them."""

    name: str  # Config.dataset
    label: str
    caption: str  # the citation shown under its settings
    settings: tuple[Setting, ...]
    loader: Callable[[Mapping], data.Dataset] | None  # None: the caller brings the data (CSV)
    # settings that follow from the others, as the loader will produce them (ECG5000's horizon)
    derived: Callable[[Mapping], dict] | None = None

    @property
    def defaults(self) -> dict:
        return {setting.name: setting.default for setting in self.settings}

    def resolve(self, values: Mapping) -> dict:
        """The derived settings of these values (empty when none follow from the others)."""
        return self.derived(values) if self.derived else {}

    def load(self, values: Mapping) -> data.Dataset:
        """The data set for these settings (missing ones take this source's defaults)."""
        if self.loader is None:
            raise ValueError("A run on a CSV file needs its data set: pass it to Trainer.load(path, dataset).")
        return self.loader(self.defaults | dict(values))


def _ecg5000_horizon(values: Mapping) -> dict:
    """ECG5000 forecasts what its 140 steps leave after the input."""
    return {"n_output": data.ECG5000_LENGTH - data.checked_ecg5000_input(values["n_input"])}


def _offered(name: str, default) -> Setting:
    return SETTINGS[name].offered(default)


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source(
            "synthetic",
            "Synthetic steps",
            "The DILATE paper's step series (Le Guen & Thome 2019), generated here.",
            (
                SETTINGS["n_series"],
                _offered("n_input", 20),
                _offered("n_output", 20),
                SETTINGS["sigma"],
                SETTINGS["noise"],
                SETTINGS["data_seed"],
            ),
            lambda v: data.make_synthetic(
                v["n_series"], v["n_input"], v["n_output"], v["sigma"], v["data_seed"], v["noise"]
            ),
        ),
        Source(
            "ecg5000",
            "ECG5000",
            "UCR ECG5000 (Dau et al. 2018; from the BIDMC CHF database, Goldberger et al. 2000).",
            (_offered("n_input", 84),),
            lambda v: data.load_ecg5000(v["n_input"]),
            derived=_ecg5000_horizon,
        ),
        Source(
            "etth1",
            "ETTh1",
            "ETTh1 (Zhou et al., AAAI 2021), CC BY-ND 4.0; scaled with the training part's mean and deviation.",
            (SETTINGS["column"], _offered("n_input", 48), _offered("n_output", 24), _offered("stride", 24)),
            lambda v: data.load_etth1(v["column"], v["n_input"], v["n_output"], v["stride"]),
        ),
        Source(
            "csv",
            "Upload CSV",
            "Your own series: one column per feature, one row per time step.",
            (_offered("n_input", 24), _offered("n_output", 12), _offered("stride", 1)),
            None,
        ),
    )
}


def data_settings(name: str, dataset: data.Dataset, values: Mapping) -> dict:
    """The Config fields that rebuild `dataset` from source `name`: the values chosen, and the
    lengths the loader actually produced (ECG5000's horizon follows from its input length)."""
    return {"dataset": name, **values, "n_input": dataset.n_input, "n_output": dataset.n_output}
