"""Fuzzing the inputs a visitor controls: CSV files, data and training settings, server limits.

Each may be rejected, but only with a ValueError that says why: never another exception.
"""

import string

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dilate_lab.data import load_csv, make_synthetic
from dilate_lab.train import Config
from explorer.limits import Limits

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.text(alphabet=string.printable, max_size=6),
    st.just(""),
)
rows = st.lists(st.lists(cells, min_size=1, max_size=4), min_size=0, max_size=60)


def accepts_or_explains(call):
    try:
        return call()
    except ValueError as error:
        assert str(error), "a rejection must say why"
        return None


@FAST
@given(rows, st.integers(1, 12), st.integers(1, 6), st.integers(1, 4))
def test_csv_loader_accepts_or_explains(table, n_input, n_output, stride):
    text = "\n".join(",".join(row) for row in table)
    dataset = accepts_or_explains(lambda: load_csv(text.encode(), n_input, n_output, stride))
    if dataset is not None:
        assert np.isfinite(dataset.train_x).all() and dataset.train_x.shape[1] == n_input


@FAST
@given(st.binary(max_size=400))
def test_csv_loader_on_arbitrary_bytes(raw):
    accepts_or_explains(lambda: load_csv(raw, 3, 2))


anything = st.one_of(
    st.integers(-(10**9), 10**9), st.floats(allow_nan=True), st.text(max_size=5), st.none(), st.booleans()
)


@FAST
@given(anything, anything, anything, anything, anything, anything)
def test_synthetic_settings_accept_or_explain(n, n_input, n_output, sigma, seed, noise):
    accepts_or_explains(lambda: make_synthetic(n if n != 0 else 1, n_input, n_output, sigma, seed, noise))


SETTINGS = ["alpha", "gamma", "lr", "batch_size", "epochs", "hidden", "eval_every", "model", "losses", "dataset"]
LIMITS = ["DILATE_WORKERS", "DILATE_MAX_EPOCHS", "DILATE_MAX_LENGTH", "DILATE_UPLOAD_MB"]


@FAST
@given(st.dictionaries(st.sampled_from(SETTINGS), anything, max_size=5))
def test_training_settings_accept_or_explain(values):
    accepts_or_explains(lambda: Config(**values))


@FAST
@given(st.dictionaries(st.sampled_from(LIMITS), st.text(max_size=8), max_size=4))
def test_server_limits_accept_or_explain(environment):
    accepts_or_explains(lambda: Limits.from_environment(environment))
