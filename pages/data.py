"""Data: the paper's synthetic step series, ECG5000, ETTh1, or an uploaded CSV."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_core.data import NOISE_KINDS
from explorer import charts, state

SOURCES = ["Synthetic steps", "ECG5000", "ETTh1", "Upload CSV"]
ETTH1_COLUMNS = ["OT", "HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL"]
# Every source's settings in the link; those of the other sources are dropped from it.
DATA_LINK_NAMES = ("n", "n_input", "n_output", "sigma", "noise", "seed", "ecg_input") + (
    "ett_column",
    "ett_input",
    "ett_output",
    "ett_stride",
)

st.title("Data")
bounds = state.limits()
source = st.radio(
    "Source",
    SOURCES,
    horizontal=True,
    key="data.source",
    index=SOURCES.index(state.query_value("source", SOURCES[0], choices=SOURCES)),
    help="The paper's synthetic step series, two real data sets shipped with the app, or your own CSV.",
)
dataset, error, settings = None, None, {"source": source}

if source == "Synthetic steps":
    left, right = st.columns(2)
    with left:
        n = st.slider(
            "Series per split",
            min(50, bounds.max_series),
            bounds.max_series,
            state.query_value("n", min(500, bounds.max_series), min(50, bounds.max_series), bounds.max_series),
            50,
            key="data.n",
            help="Training and test sets each get this many series (the paper: 500).",
        )
        n_input = st.slider(
            "Input length",
            min(10, bounds.max_length),
            bounds.max_length,
            state.query_value("n_input", min(20, bounds.max_length), min(10, bounds.max_length), bounds.max_length),
            key="data.n_input",
            help="Observed steps; the two peaks lie in them (the paper: 20).",
        )
        n_output = st.slider(
            "Output length",
            min(5, bounds.max_length),
            bounds.max_length,
            state.query_value("n_output", min(20, bounds.max_length), min(5, bounds.max_length), bounds.max_length),
            key="data.n_output",
            help="Steps to forecast (the paper: 20).",
        )
    with right:
        sigma = st.slider(
            "Noise sigma",
            0.0,
            0.5,
            state.query_value("sigma", 0.01, 0.0, 0.5),
            0.005,
            key="data.sigma",
            format="%.3f",
            help="Scale of the noise added to every step.",
        )
        noise = st.selectbox(
            "Noise kind",
            NOISE_KINDS,
            index=NOISE_KINDS.index(state.query_value("noise", "uniform", choices=NOISE_KINDS)),
            key="data.noise",
            help="uniform on [0, sigma) as the published code; gaussian as the paper's text.",
        )
        seed = st.number_input(
            "Seed",
            0,
            1_000_000,
            state.query_value("seed", 0, 0, 1_000_000),
            key="data.seed",
            help="Same seed, same series.",
        )
    settings |= {"n": n, "n_input": n_input, "n_output": n_output, "sigma": sigma, "noise": noise, "seed": seed}
    dataset = state.synthetic(n, n_input, n_output, sigma, int(seed), noise)
elif source == "ECG5000":
    n_input = st.slider(
        "Input length",
        20,
        120,
        state.query_value("ecg_input", 84, 20, 120),
        key="data.ecg_input",
        help="Steps observed out of 140; the paper uses 84 and forecasts the last 56.",
    )
    settings |= {"ecg_input": n_input}
    dataset = state.ecg5000(n_input)
    st.caption("UCR ECG5000 (Dau et al. 2018; from the BIDMC CHF database, Goldberger et al. 2000).")
elif source == "ETTh1":
    column = st.selectbox(
        "Column",
        ETTH1_COLUMNS,
        ETTH1_COLUMNS.index(state.query_value("ett_column", "OT", choices=ETTH1_COLUMNS)),
        key="data.ett_column",
        help="OT, oil temperature, is the usual target.",
    )
    n_input = st.slider(
        "Input length (hours)", 12, 168, state.query_value("ett_input", 48, 12, 168), key="data.ett_input"
    )
    n_output = st.slider(
        "Output length (hours)", 6, 96, state.query_value("ett_output", 24, 6, 96), key="data.ett_output"
    )
    stride = st.slider(
        "Stride between windows",
        1,
        96,
        state.query_value("ett_stride", 24, 1, 96),
        key="data.ett_stride",
        help="Hours between window starts.",
    )
    settings |= {"ett_column": column, "ett_input": n_input, "ett_output": n_output, "ett_stride": stride}
    dataset = state.etth1(column, n_input, n_output, stride)
    st.caption("ETTh1 (Zhou et al., AAAI 2021), CC BY-ND 4.0; scaled with the training part's mean and deviation.")
else:
    upload = st.file_uploader(
        f"CSV file (numeric columns, up to {bounds.upload_mb} MB)",
        type=["csv", "txt"],
        key="data.upload",
        help="One column per feature, one row per time step; a first date column is ignored.",
    )
    n_input = st.number_input("Window size (input steps)", 1, 1000, 24, key="data.csv_input")
    n_output = st.number_input("Horizon (steps to forecast)", 1, 1000, 12, key="data.csv_output")
    stride = st.number_input("Stride between windows", 1, 1000, 1, key="data.csv_stride")
    if upload is None:
        st.info("Choose a CSV file to use your own series.")
    else:
        dataset, error = state.uploaded_csv(upload.getvalue(), int(n_input), int(n_output), int(stride))
        settings |= {"file": upload.name, "n_input": n_input, "n_output": n_output, "stride": stride}
        if error:
            st.error(f"This file cannot be used: {error}")

if source != "Upload CSV":
    state.set_query(drop=DATA_LINK_NAMES, **settings)
if dataset is None:
    st.stop()

version = repr(sorted(settings.items()))
if st.session_state.get(state.VERSION_KEY) != version:
    st.session_state[state.DATA_KEY] = dataset
    st.session_state[state.VERSION_KEY] = version
job = state.current_job()
if job is not None and st.session_state.get("train.data_version") != version:
    st.warning(f"The data changed since run #{job.id} was trained: start a new run on the Train page.")

examples = np.arange(min(6, len(dataset.test_x)))
st.subheader("Examples from the test set")
breaks = dataset.test_breaks[examples] if dataset.test_breaks is not None else None
st.plotly_chart(charts.series_grid(dataset.test_x[examples], dataset.test_y[examples], breaks))

st.subheader("Summary")
summary = {
    "training windows": len(dataset.train_x),
    "test windows": len(dataset.test_x),
    "input steps": dataset.n_input,
    "output steps": dataset.n_output,
    "features": dataset.n_features,
    "mean": float(dataset.train_x.mean()),
    "std": float(dataset.train_x.std()),
}
if dataset.train_breaks is not None:
    summary["mean breakpoint"] = float(dataset.train_breaks.mean())
st.dataframe(pd.Series(summary, name="value").astype(str))
