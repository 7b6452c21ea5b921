"""How the app offers each setting: a Streamlit widget kind, its label and its range.

The settings themselves (type, default, bounds, help) are the core's (`dilate_lab.settings`);
this table only says how a page shows them. Where a widget's range is narrower than the
setting's, the widget's range is what a visitor may pick; `limit` names the server limit (a
field of `explorer.limits.Limits`) that caps it further.
"""

from dataclasses import dataclass

from dilate_lab.paper import PAPER_LOSS_PARAMETERS
from dilate_lab.settings import GAMMAS, LOSSES

RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)  # Adam learning rates offered
HIDDEN = (16, 32, 64, 128, 256)  # hidden units offered


@dataclass(frozen=True)
class Widget:
    """kind: "slider", "select_slider", "number", "radio", "selectbox", "checkbox" or "multiselect".

    low, high, step: a numeric widget's range (None: the setting's bounds); options: the values a
    select offers (None: the setting's choices); limit: the `Limits` field that caps `high` or the
    options; default: where the app starts, where that is not the setting's default.
    """

    label: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: tuple | None = None
    limit: str | None = None
    format: str | None = None
    help: str | None = None  # where the widget needs other words than the setting's help
    default: object = None


_EPOCHS_HELP = "Passes over the training set (the published code: 500; the paper: up to 1000)."

# setting name -> its widget, wherever the app offers it
WIDGETS: dict[str, Widget] = {
    "n_series": Widget("Series per split", "slider", 50, None, 50, limit="max_series"),
    "sigma": Widget("Noise sigma", "slider", 0.0, 0.5, 0.005, format="%.3f"),
    "noise": Widget("Noise kind", "selectbox"),
    "data_seed": Widget("Seed", "number", 0, 1_000_000),
    "column": Widget("Column", "selectbox"),
    "model": Widget("Model", "radio"),
    "hidden": Widget("Hidden units", "select_slider", options=HIDDEN, limit="max_hidden"),
    "losses": Widget("Losses", "multiselect"),
    "alpha": Widget("alpha", "slider", 0.0, 1.0, 0.05),
    "gamma": Widget("gamma", "select_slider", options=GAMMAS),
    "lr": Widget("Learning rate", "select_slider", options=RATES),
    "batch_size": Widget("Batch size", "slider", 8, 500),
    "epochs": Widget("Epochs", "number", 1, None, limit="max_epochs", default=100, help=_EPOCHS_HELP),
    "eval_every": Widget(
        "Evaluate every k epochs",
        "slider",
        1,
        50,
        default=5,
        help="How often the test metrics and forecasts are computed and drawn.",
    ),
    "select_on_validation": Widget("Keep the best validation weights", "checkbox"),
    "patience": Widget("Stop a model after this many evaluations without improvement (0: never)", "number", 0, 100),
    "mse_warmup": Widget(
        "MSE warm-up epochs (0: none, as in the paper)",
        "number",
        0,
        None,
        limit="max_epochs",
        help="Every model trains with the MSE loss first, then with its own.",
    ),
}

# data source -> setting name -> its widget on that source's form, where it differs from WIDGETS
SOURCE_WIDGETS: dict[str, dict[str, Widget]] = {
    "synthetic": {
        "n_input": Widget(
            "Input length",
            "slider",
            10,
            None,
            limit="max_length",
            help="Observed steps; the two peaks lie in them (the paper: 20).",
        ),
        "n_output": Widget(
            "Output length", "slider", 5, None, limit="max_length", help="Steps to forecast (the paper: 20)."
        ),
    },
    "ecg5000": {
        "n_input": Widget(
            "Input length",
            "slider",
            20,
            120,
            help="Steps observed out of 140; the paper uses 84 and forecasts the last 56.",
        ),
    },
    "etth1": {
        "n_input": Widget("Input length (hours)", "slider", 12, 168),
        "n_output": Widget("Output length (hours)", "slider", 6, 96),
        "stride": Widget("Stride between windows", "slider", 1, 96, help="Hours between window starts."),
    },
    "csv": {
        "n_input": Widget("Window size (input steps)", "number", 1, 1000),
        "n_output": Widget("Horizon (steps to forecast)", "number", 1, 1000),
        "stride": Widget("Stride between windows", "number", 1, 1000),
    },
}


def widget_for(name: str, source: str | None = None) -> Widget:
    """The widget of setting `name`, as data source `source` offers it when given."""
    return SOURCE_WIDGETS.get(source, {}).get(name) or WIDGETS[name]


# The Train form's "paper's settings" (DESIGN.md, Table 1's settings): the three losses of Table 1 on
# the GRU Seq2Seq of 128 units, Adam at 0.001 on batches of 100, up to 1000 epochs with each model's
# best validation weights kept (its early stopping), evaluated every 10 epochs, no warm-up.
PAPER_EPOCHS = 1000  # the paper's "up to 1000 epochs"
PAPER_SETTINGS = {
    "losses": LOSSES,
    "model": "seq2seq",
    "hidden": 128,
    **PAPER_LOSS_PARAMETERS,  # alpha 0.5, gamma 0.01
    "lr": 1e-3,
    "batch_size": 100,
    "epochs": PAPER_EPOCHS,
    "select_on_validation": True,
    "patience": 0,  # every model trains all its epochs; its best validation weights are its result
    "eval_every": 10,
    "mse_warmup": 0,
}
