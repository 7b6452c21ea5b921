"""The DILATE paper's synthetic step series, the benchmark its losses are judged on.

`make_synthetic` returns a `Dataset` of float32 windows, inputs (n, n_input, d) and targets
(n, n_output, d), split into train, validation and test as in the paper. Generated, seeded and
vectorised: nothing is downloaded.
"""

from dataclasses import dataclass, field

import numpy as np

from dilate_core._validate import check_number

NOISE_KINDS = ("uniform", "gaussian")  # uniform on [0, sigma) as the published code; gaussian as the paper's text
MAX_SERIES = 20_000  # per split, for the synthetic generator
MAX_LENGTH = 1_000  # input and output lengths, each


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
