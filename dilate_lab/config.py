"""Config: everything that defines a run, one field per entry of `dilate_lab.settings.SETTINGS`.

The app's form, the command line, a sweep cell and a saved run all fill one in; its checks (bounds,
choices, the data source's defaults) are the registry's, applied in `__post_init__`. The fields
below repeat the registry's names and defaults so the dataclass reads on its own; a test keeps
the two equal.
"""

from dataclasses import dataclass

from dilate_lab.settings import SETTINGS
from dilate_lab.sources import SOURCES

# Settings whose default depends on the data source (ECG5000 reads 84 steps, ETTh1 48): a Config
# leaves them None until it knows its data set, then takes the source's default.
BY_SOURCE = frozenset(
    s.name for source in SOURCES.values() for s in source.settings if s.default != SETTINGS[s.name].default
)


@dataclass
class Config:
    """Everything that defines a run (see `dilate_lab.settings` for each field's bounds and help).

    Data settings left unset take the data source's defaults (Config(dataset="ecg5000") reads 84
    steps and forecasts 56), and settings the data fix follow from the others (ECG5000's horizon is
    140 - n_input, whatever n_output says). A value out of bounds raises ValueError.
    """

    # Data.
    dataset: str = "synthetic"  # synthetic, ecg5000, etth1 or csv (the caller passes the data set)
    n_series: int = 500  # synthetic series per split: train, validation and test (the paper: 500)
    n_input: int | None = None  # observed steps (None: the source's, e.g. 20 synthetic, 84 ECG5000)
    n_output: int | None = None  # steps to forecast (None: the source's; ECG5000: 140 - n_input)
    sigma: float = 0.01  # synthetic noise scale (the paper: 0.01)
    noise: str = "uniform"  # uniform on [0, sigma) as the published code, or gaussian as the paper's text
    data_seed: int = 0  # the synthetic generator's seed
    column: str = "OT"  # ETTh1's column to forecast (OT: oil temperature)
    stride: int | None = None  # ETTh1 and CSV: steps between window starts (None: the source's)
    # Model and loss.
    model: str = "seq2seq"  # the paper's GRU Seq2Seq, or an MLP
    hidden: int = 128  # hidden units of the GRU or the MLP (the paper: 128)
    losses: tuple[str, ...] = ("mse", "soft_dtw", "dilate")  # one model per loss, trained side by side
    alpha: float = 0.5  # DILATE's weight of the shape term (the paper: 0.5)
    gamma: float = 0.01  # soft-DTW's temperature (the paper: 0.01)
    # Optimisation.
    lr: float = 1e-3  # Adam's learning rate (the paper: 0.001)
    batch_size: int = 100  # series per gradient step (the paper: 100)
    epochs: int = 500  # passes over the training set (the published code: 500; the paper: up to 1000)
    seed: int = 0  # seed of the initial weights and the batch order
    eval_every: int = 10  # epochs between evaluations (test metrics, validation, previews)
    select_on_validation: bool = False  # keep each model's weights from its lowest validation loss
    patience: int = 0  # stop a model after this many evaluations without improvement (0: never)
    mse_warmup: int = 0  # epochs every model first trains with the MSE loss (0: none, as in the paper)
    n_preview: int = 5  # fixed test series whose forecasts every evaluation reports
    device: str = "cpu"  # a torch device: cpu or cuda
    parallel: bool = True  # one thread per model (the same numbers as training them in turn)

    def __post_init__(self) -> None:
        """Fill the data source's defaults and derived settings, then check every field against its
        entry in SETTINGS, storing it as the entry's plain type."""
        source = SOURCES[SETTINGS["dataset"].check(self.dataset)]
        for name in BY_SOURCE:
            if getattr(self, name) is None:
                setattr(self, name, source.defaults.get(name, SETTINGS[name].default))
        by_source = {name: SETTINGS[name].check(getattr(self, name)) for name in BY_SOURCE}
        for name, value in source.resolve(by_source).items():
            setattr(self, name, value)
        for setting in SETTINGS.values():
            setattr(self, setting.name, setting.check(getattr(self, setting.name)))
        if self.patience and not self.select_on_validation:
            raise ValueError(
                "Early stopping (patience > 0) needs select_on_validation: it watches the validation loss."
            )

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        """A Config from a dict, e.g. a saved run's; keys that are not settings are ignored."""
        return cls(**{key: value for key, value in values.items() if key in SETTINGS})
