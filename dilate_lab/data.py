"""The lab's data sets: ECG5000, ETTh1 and user CSVs, beside the paper's synthetic step series
(`dilate_core.data`, re-exported here).

Every loader returns a `dilate_core.data.Dataset` of float32 windows, inputs (n, n_input, d) and
targets (n, n_output, d), split into train and test. Nothing is downloaded: the real series ship
in the repository's `assets/` (see assets/DATA-README.md for their licences and citations) and
are normalised at load time, never rewritten. The loaders read them from the folder passed as
`assets`, else from DILATE_ASSETS, else from this checkout's `assets/`. pandas is imported only
by the loaders that parse CSV.
"""

import io
import os
from pathlib import Path

import numpy as np

from dilate_core._validate import check_number
from dilate_core.data import MAX_LENGTH, Dataset, make_synthetic

__all__ = ["ASSETS", "Dataset", "load_csv", "load_ecg5000", "load_etth1", "make_synthetic", "windows"]

# The data sets' folder: DILATE_ASSETS, or assets/ of the checkout holding this package.
ASSETS = Path(os.environ.get("DILATE_ASSETS") or Path(__file__).resolve().parent.parent / "assets")
MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_CSV_ROWS = 200_000


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
    """pandas, imported where a CSV is parsed: ECG5000 and the synthetic data need only numpy."""
    try:
        import pandas
    except ImportError:
        raise ImportError("Reading CSV files needs pandas: pip install pandas.") from None
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
