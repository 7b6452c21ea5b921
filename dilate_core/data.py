"""Forecasting data sets: the DILATE paper's synthetic step series, ECG5000, ETTh1 and user CSVs.

Every loader returns a `Dataset` of float32 windows, inputs (n, n_input, d) and targets
(n, n_output, d), split into train and test; the synthetic series also have a validation
split, as in the paper. Nothing is downloaded: the real series ship in the repository's
`assets/` (see assets/DATA-README.md for their licences and citations), not in the installed
package, and are normalised at load time, never rewritten. The loaders read them from the
folder passed as `assets`, else from DILATE_ASSETS, else from the checkout this package runs
from. pandas is imported only by the loaders that parse CSV (`pip install "dilate-core[data]"`).
"""

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dilate_core._validate import check_number
from dilate_core.settings import NOISE_KINDS

# The data sets' folder: DILATE_ASSETS, or assets/ of the checkout holding this package (which an
# installed package has not: there, pass `assets=` or set DILATE_ASSETS).
ASSETS = Path(os.environ.get("DILATE_ASSETS") or Path(__file__).resolve().parent.parent / "assets")
MAX_SERIES = 20_000  # per split, for the synthetic generator
MAX_LENGTH = 1_000  # input and output lengths, each
MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_CSV_ROWS = 200_000


@dataclass
class Dataset:
    """Train and test windows of one data set; arrays are float32, breaks int (or None)."""

    name: str
    train_x: np.ndarray  # (n_train, n_input, d)
    train_y: np.ndarray  # (n_train, n_output, d)
    test_x: np.ndarray  # (n_test, n_input, d)
    test_y: np.ndarray  # (n_test, n_output, d)
    train_breaks: np.ndarray | None = None  # (n_train,) index of the step in the whole series
    test_breaks: np.ndarray | None = None  # (n_test,)
    info: dict = field(default_factory=dict)  # settings and provenance, shown by the app
    val_x: np.ndarray | None = None  # (n_val, n_input, d): a validation split, where the data set has one
    val_y: np.ndarray | None = None  # (n_val, n_output, d)
    # Rows are separate series (any subset is a fair sample), not windows cut in time order.
    independent_series: bool = False

    @property
    def n_input(self) -> int:
        return self.train_x.shape[1]

    @property
    def n_output(self) -> int:
        return self.train_y.shape[1]

    @property
    def n_features(self) -> int:
        return self.train_x.shape[2]


def make_synthetic(
    n: int = 500, n_input: int = 20, n_output: int = 20, sigma: float = 0.01, seed: int = 0, noise: str = "uniform"
) -> Dataset:
    """The DILATE paper's synthetic step series: n for training, n for testing, n for validation.

    Each series of length n_input + n_output is noise of scale sigma plus two peaks in the
    input part, at i1 in [1, n_input / 2] and i2 in [n_input / 2, n_input - 2] (the paper's
    [1, 10] and [10, 18] for n_input = 20) with heights j1, j2 ~ U(0, 1), and a step of height
    j2 - j1 from the breakpoint i2 + |i2 - i1| + U{-3..3} onward. noise="uniform" draws it on
    [0, sigma) as the published code does; "gaussian" with standard deviation sigma, as the
    paper's text says. Breakpoints index the whole series (>= n_input: inside the target).
    The peaks and steps depend on the seed alone, not on sigma or the noise kind.
    """
    n = check_number("n", n, 1, MAX_SERIES, whole=True)
    n_input = check_number("n_input", n_input, 6, MAX_LENGTH, whole=True)
    n_output = check_number("n_output", n_output, 1, MAX_LENGTH, whole=True)
    sigma = check_number("sigma", sigma, 0, 1)
    if noise not in NOISE_KINDS:
        raise ValueError(f"noise must be one of {', '.join(NOISE_KINDS)}, got {noise!r}.")
    seed = check_number("seed", seed, 0, 2**32 - 1, whole=True)
    # Separate streams: the same seed gives the same peaks and steps whatever the noise, and
    # the validation series (drawn last) leave the training and test series as they were.
    rng, noise_rng, val_rng, val_noise_rng = np.random.default_rng(seed).spawn(4)
    series, breaks = _step_series(2 * n, n_input, n_output, sigma, noise, rng, noise_rng)
    val_series, _ = _step_series(n, n_input, n_output, sigma, noise, val_rng, val_noise_rng)
    return Dataset(
        name="synthetic",
        train_x=series[:n, :n_input],
        train_y=series[:n, n_input:],
        test_x=series[n:, :n_input],
        test_y=series[n:, n_input:],
        train_breaks=breaks[:n],
        test_breaks=breaks[n:],
        info={"n": n, "n_input": n_input, "n_output": n_output, "sigma": sigma, "seed": seed, "noise": noise},
        val_x=val_series[:, :n_input],
        val_y=val_series[:, n_input:],
    )


def _step_series(count, n_input, n_output, sigma, noise, rng, noise_rng) -> tuple[np.ndarray, np.ndarray]:
    """count step series (count, n_input + n_output, 1) float32 and their breakpoints (count,)."""
    length, half = n_input + n_output, n_input // 2
    if noise == "uniform":
        series = sigma * noise_rng.random((count, length))
    else:
        series = sigma * noise_rng.standard_normal((count, length))
    i1 = rng.integers(1, half + 1, size=count)  # inclusive bounds, as random.randint
    i2 = rng.integers(half, n_input - 1, size=count)
    j1, j2 = rng.random(count), rng.random(count)
    breaks = i2 + np.abs(i2 - i1) + rng.integers(-3, 4, size=count)
    rows = np.arange(count)
    series[rows, i1] += j1
    series[rows, i2] += j2
    series += (j2 - j1)[:, None] * (np.arange(length)[None, :] >= breaks[:, None])
    return series.astype(np.float32)[:, :, None], breaks


ECG5000_LENGTH = 140  # steps per heartbeat in the archive


def checked_ecg5000_input(n_input) -> int:
    """n_input as a whole number of ECG5000's steps that leaves at least one to forecast."""
    return check_number("n_input", n_input, 1, ECG5000_LENGTH - 1, whole=True)


def _asset(assets: str | Path | None, name: str) -> Path:
    """The path of data file `name` in `assets` (None: ASSETS), or a FileNotFoundError that says where to get it."""
    path = Path(ASSETS if assets is None else assets) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found. The data sets ship in the DILATE Explorer repository's assets/ folder, not in the "
            "installed package: pass assets='<that folder>' or set DILATE_ASSETS to it."
        )
    return path


def _pandas():
    """pandas, imported where a CSV is parsed: the losses, metrics and synthetic data need only numpy."""
    try:
        import pandas
    except ImportError:
        raise ImportError('Reading CSV files needs pandas: pip install "dilate-core[data]".') from None
    return pandas


def load_ecg5000(n_input: int = 84, assets: str | Path | None = None) -> Dataset:
    """UCR ECG5000 as the DILATE paper uses it: the first n_input of 140 steps -> the rest.

    The archive's split: 500 training series, 4,499 test series (the shipped copy lacks the
    archive's first test series). Values are used as the archive gives them (z-normalised).
    assets : the folder holding ECG5000_TRAIN.tsv and ECG5000_TEST.tsv (default: ASSETS).
    The archive sorts its training series by class, so they are marked independent: a
    validation split must draw them at random, not take the last ones (all abnormal beats).
    """
    n_input = checked_ecg5000_input(n_input)
    splits = []
    for part in ("TRAIN", "TEST"):
        table = np.loadtxt(_asset(assets, f"ECG5000_{part}.tsv"), delimiter="\t", dtype=np.float64)
        values = table[:, 1:].astype(np.float32)[:, :, None]  # drop the class label; (n, 140, 1)
        splits.append((values[:, :n_input], values[:, n_input:]))
    (train_x, train_y), (test_x, test_y) = splits
    info = {"n_input": n_input, "n_output": ECG5000_LENGTH - n_input}
    return Dataset("ecg5000", train_x, train_y, test_x, test_y, info=info, independent_series=True)


def windows(
    values: np.ndarray, n_input: int, n_output: int, train_fraction: float = 0.7, stride: int = 1, name: str = "series"
) -> Dataset:
    """Sliding windows over a multivariate series, split chronologically, standardised on train.

    values : (T, d) array. Windows of n_input + n_output steps start every `stride` steps; the
    first train_fraction of the time steps feed the training windows, the rest the test
    windows (no window crosses the split). Mean and standard deviation come from the training
    part only and are stored in `info` to undo the scaling.
    """
    values = np.asarray(values, dtype=np.float64)
    T = values.shape[0]
    length = n_input + n_output
    split = int(T * train_fraction)
    if split < length or T - split < length:
        raise ValueError(
            f"The series has {T} rows: too few for one window of {n_input} + {n_output} steps in both the "
            f"training part ({split} rows) and the test part ({T - split} rows). Use shorter windows or more rows."
        )
    mean = values[:split].mean(axis=0)
    std = values[:split].std(axis=0)
    std[std == 0] = 1.0  # a constant column stays constant (0) rather than dividing by zero
    scaled = ((values - mean) / std).astype(np.float32)

    def cut(part: np.ndarray) -> np.ndarray:
        starts = np.arange(0, part.shape[0] - length + 1, stride)
        return np.stack([part[s : s + length] for s in starts])  # (n, length, d)

    train, test = cut(scaled[:split]), cut(scaled[split:])
    info = {"n_input": n_input, "n_output": n_output, "stride": stride, "mean": mean.tolist(), "std": std.tolist()}
    return Dataset(name, train[:, :n_input], train[:, n_input:], test[:, :n_input], test[:, n_input:], info=info)


def load_etth1(
    column: str = "OT", n_input: int = 48, n_output: int = 24, stride: int = 24, assets: str | Path | None = None
) -> Dataset:
    """ETTh1 (hourly transformer data, Zhou et al. 2021): windows over one column, default oil temperature.

    assets : the folder holding ETTh1.csv (default: ASSETS). Needs pandas.
    """
    frame = _pandas().read_csv(_asset(assets, "ETTh1.csv"))
    if column not in frame.columns or column == "date":
        raise ValueError(f"ETTh1 has no column {column!r}; choose one of {', '.join(frame.columns[1:])}.")
    n_input = check_number("n_input", n_input, 1, MAX_LENGTH, whole=True)
    n_output = check_number("n_output", n_output, 1, MAX_LENGTH, whole=True)
    stride = check_number("stride", stride, 1, MAX_LENGTH, whole=True)
    dataset = windows(frame[[column]].to_numpy(), n_input, n_output, stride=stride, name=f"etth1-{column}")
    dataset.info["column"] = column
    return dataset


def load_csv(source, n_input: int, n_output: int, stride: int = 1, max_bytes: int = MAX_CSV_BYTES) -> Dataset:
    """A user's CSV: every column numeric (a first non-numeric column such as a date is dropped).

    source : a path, bytes, or a binary file object. Rejects, with a ValueError that says what
    to change: files over max_bytes, unparsable text, no numeric column, non-numeric values,
    missing values (NaN), and too few rows for one window in the train and test parts.
    """
    n_input = check_number("window size", n_input, 1, MAX_LENGTH, whole=True)
    n_output = check_number("horizon", n_output, 1, MAX_LENGTH, whole=True)
    stride = check_number("stride", stride, 1, MAX_LENGTH, whole=True)
    pd = _pandas()
    raw = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    raw = raw if isinstance(raw, bytes) else raw.read()
    if len(raw) > max_bytes:
        raise ValueError(f"The file is {len(raw) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
    try:
        frame = pd.read_csv(io.BytesIO(raw), nrows=MAX_CSV_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"The file could not be read as CSV ({str(error).splitlines()[0]}).") from None
    if len(frame) > MAX_CSV_ROWS:
        raise ValueError(f"The file has more than {MAX_CSV_ROWS} rows; keep the most recent ones.")
    if frame.shape[1] > 1 and not pd.api.types.is_numeric_dtype(frame.iloc[:, 0]):
        frame = frame.iloc[:, 1:]  # a leading date or label column
    bad = [str(name) for name in frame.columns if not pd.api.types.is_numeric_dtype(frame[name])]
    if frame.shape[1] == 0:
        raise ValueError("The file has no numeric column.")
    if bad:
        raise ValueError(f"These columns are not numeric: {', '.join(bad)}. Remove them or fix their values.")
    missing = frame.isna().any(axis=1).to_numpy()
    if missing.any():
        raise ValueError(
            f"The file has missing values (NaN) in {missing.sum()} rows, the first at row {int(missing.argmax()) + 2}; "
            "fill or remove them."
        )
    values = frame.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("The file has infinite values; replace them.")
    dataset = windows(values, n_input, n_output, stride=stride, name="csv")
    dataset.info["columns"] = [str(name) for name in frame.columns]
    return dataset
