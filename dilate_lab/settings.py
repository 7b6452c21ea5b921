"""Every training and data setting, defined once: type, default, bounds, help and link name.

`Config`'s checks, the command line's options, the app's widgets and the page links are all
built from `SETTINGS`; adding a setting is one entry here (and a field of `dilate_lab.config.Config`,
which a test keeps equal). How the app offers a setting, as a widget, is the app's own business:
`explorer/widget_specs.py`.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from dilate_core._validate import check_number
from dilate_core.data import NOISE_KINDS

LOSSES = ("mse", "soft_dtw", "dilate")  # the paper's three, trained by default
# and the soft-DTW divergence (Blondel, Mensch & Vert 2021) and the paper's Table 3 variants: DILATE_t, soft-DTW
# over alpha Delta + (1 - alpha) Omega, with the weighted-DTW Omega or the Sakoe-Chiba band
ALL_LOSSES = (*LOSSES, "sdtw_div", "dilate_t_weighted", "dilate_t_band")
LOSS_LABELS = {
    "mse": "MSE",
    "soft_dtw": "soft-DTW",
    "dilate": "DILATE",
    "sdtw_div": "soft-DTW divergence",
    "dilate_t_weighted": "DILATE_t (weighted)",
    "dilate_t_band": "DILATE_t (band)",
}
DATASETS = ("synthetic", "ecg5000", "etth1", "csv")  # "csv": the caller passes the data set
MODELS = ("seq2seq", "mlp")
ETTH1_COLUMNS = ("OT", "HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL")


@dataclass(frozen=True)
class Setting:
    """One setting of a run. Numbers must lie in [low, high]; names must be among `choices`."""

    name: str  # the Config field, the command line's --name, the widget key's and the link's name
    kind: type  # int, float, str, bool, or tuple (a list of names among `choices`)
    default: object
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None  # the allowed names (None: any text)
    positive: bool = False  # a number that must be greater than low, not only at least low

    def check(self, value):
        """value as this setting's type, or a ValueError that says what is allowed."""
        if self.kind is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{self.name} must be True or False, got {value!r}.")
            return bool(value)
        if self.kind is tuple:
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise ValueError(f"{self.name} must be a list among {', '.join(self.choices)}.")
            value = tuple(value)
            if not value or not set(value) <= set(self.choices) or len(set(value)) != len(value):
                raise ValueError(f"{self.name} must be distinct names among {', '.join(self.choices)}.")
            return value
        if self.kind is str:
            if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
                allowed = f"one of {', '.join(self.choices)}" if self.choices else "a text"
                raise ValueError(f"{self.name} must be {allowed}, got {value!r}.")
            return value
        number = check_number(self.name, value, self.low, self.high, whole=self.kind is int)
        if self.positive and number <= self.low:
            raise ValueError(f"{self.name} must be greater than {self.low}, got {value!r}.")
        return number

    def offered(self, default) -> "Setting":
        """This setting as one data source offers it: with its own default."""
        return replace(self, default=default)

    def parse(self, text: str):
        """A value from its text form (a link or the command line); ValueError if malformed or out of bounds."""
        if self.kind is bool:
            if text not in ("0", "1", "true", "false", "True", "False"):
                raise ValueError(f"{self.name} must be 0 or 1, got {text!r}.")
            return self.check(text in ("1", "true", "True"))
        if self.kind is tuple:
            return self.check(tuple(part for part in text.split(",") if part))
        if self.kind is str:
            return self.check(text)
        try:
            number = float(text) if self.kind is float else int(text)
        except ValueError:
            raise ValueError(f"{self.name} must be a number, got {text!r}.") from None
        if not math.isfinite(number):
            raise ValueError(f"{self.name} must be a finite number, got {text!r}.")
        return self.check(number)

    def text(self, value) -> str:
        """The link's form of a value: parse(text(v)) == v."""
        if self.kind is bool:
            return str(int(value))
        if self.kind is tuple:
            return ",".join(value)
        return str(value)


GAMMAS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # soft-DTW temperatures offered by the sliders

_SETTINGS = (
    # Data.
    Setting("dataset", str, "synthetic", "Data set; 'csv' runs need the data passed in.", choices=DATASETS),
    Setting(
        "n_series",
        int,
        500,
        "Synthetic series per split: training, validation and test each get this many (the paper: 500).",
        1,
        20_000,
    ),
    Setting("n_input", int, 20, "Input length: observed steps (ECG5000: 84 in the paper).", 1, 1_000),
    Setting("n_output", int, 20, "Forecast horizon: steps to forecast (ECG5000: 140 - n_input).", 1, 1_000),
    Setting(
        "sigma",
        float,
        0.01,
        "Synthetic: scale of the noise added to every step (the paper: 0.01).",
        0.0,
        1.0,
    ),
    Setting(
        "noise",
        str,
        "uniform",
        "Synthetic noise kind: uniform on [0, sigma) as the published code; gaussian as the paper's text.",
        choices=NOISE_KINDS,
    ),
    Setting(
        "data_seed",
        int,
        0,
        "Synthetic: the generator's seed; same seed, same series.",
        0,
        2**32 - 1,
    ),
    Setting(
        "column",
        str,
        "OT",
        "ETTh1: the column to forecast; OT, oil temperature, is the usual target.",
        choices=ETTH1_COLUMNS,
    ),
    Setting("stride", int, 24, "ETTh1 and CSV: steps between window starts.", 1, 1_000),
    # Model and loss.
    Setting(
        "model",
        str,
        "seq2seq",
        "The paper's GRU Seq2Seq, or an MLP.",
        choices=MODELS,
    ),
    Setting(
        "hidden",
        int,
        128,
        "Width of the GRU or of the MLP's hidden layer (the paper: 128).",
        1,
        1024,
    ),
    Setting(
        "losses",
        tuple,
        LOSSES,
        "One model is trained per loss, side by side; sdtw_div is the soft-DTW divergence (Blondel et al. 2021); "
        "dilate_t_weighted and dilate_t_band are the paper's tangled DILATE_t (its Table 3).",
        choices=ALL_LOSSES,
    ),
    Setting(
        "alpha",
        float,
        0.5,
        "DILATE's weight of the shape term; 1 - alpha weighs the temporal term (the paper: 0.5).",
        0.0,
        1.0,
    ),
    Setting(
        "gamma",
        float,
        0.01,
        "soft-DTW's smoothing temperature (the paper: 0.01).",
        0.0,
        100.0,
        positive=True,
    ),
    # Optimisation.
    Setting(
        "lr",
        float,
        1e-3,
        "Adam's learning rate (the paper: 0.001).",
        0.0,
        1.0,
        positive=True,
    ),
    Setting(
        "batch_size",
        int,
        100,
        "Series per gradient step (the paper: 100).",
        1,
        10_000,
    ),
    Setting(
        "epochs",
        int,
        500,
        "Passes over the training set (the published code: 500; the paper: up to 1000).",
        0,
        10_000,
    ),
    Setting("seed", int, 0, "Seed of the initial weights and of the batch order.", 0, 2**32 - 1),
    Setting(
        "eval_every",
        int,
        10,
        "Epochs between test (and validation) evaluations.",
        1,
        10_000,
    ),
    Setting(
        "select_on_validation",
        bool,
        False,
        "The paper's early stopping: at every evaluation each model's own loss on a validation split (the "
        "synthetic data's own, else a fifth of the training rows, which then do not train: drawn at random "
        "from ECG5000's independent series, the latest windows of a series cut in time) is measured, and "
        "results use each model's weights from its lowest one.",
    ),
    Setting(
        "patience",
        int,
        0,
        "Early stopping: a model stops training after this many evaluations in a row without a lower "
        "validation loss and keeps its best weights; the others go on (0: never stop; needs "
        "select_on_validation).",
        0,
        10_000,
    ),
    Setting(
        "mse_warmup",
        int,
        0,
        "Epochs every model first trains with the MSE loss before its own (0: none, as in the paper). "
        "From a flat forecast DILATE's temporal term pins the forecast flat on ECG5000; a short MSE "
        "warm-up starts it from a forecast with a shape. Validation selection and early stopping "
        "start after the warm-up.",
        0,
        10_000,
    ),
    Setting("n_preview", int, 5, "Fixed test series whose forecasts every evaluation reports.", 0, 64),
    Setting("device", str, "cpu", "Where the models train: a torch device such as cpu or cuda."),
    Setting("parallel", bool, True, "One thread per model (the same numbers as training them in turn, sooner)."),
)
SETTINGS: dict[str, Setting] = {setting.name: setting for setting in _SETTINGS}
