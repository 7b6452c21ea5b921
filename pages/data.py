"""Data: the paper's synthetic step series, ECG5000, ETTh1, or an uploaded CSV."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_lab.sources import SOURCES, data_settings
from explorer import charts, keys, links, loaders, server
from explorer.frame import require_app_frame
from explorer.widgets import setting_input

require_app_frame()

# Every source's settings in the link; those of the other sources are dropped from it.
DATA_LINK_NAMES = tuple(sorted({setting.name for source in SOURCES.values() for setting in source.settings}))

st.title("Data")
bounds = server.limits()
names = list(SOURCES)
name = st.radio(
    "Source",
    names,
    names.index(links.read("source", names[0], choices=names)),
    format_func=lambda n: SOURCES[n].label,
    horizontal=True,
    key="data.source",
    help="The paper's synthetic step series, two real data sets shipped with the app, or your own CSV.",
)
source = SOURCES[name]
linked = st.query_params.get("source", names[0]) == name  # the link's settings are this source's
upload = None
if source.loader is None:
    upload = st.file_uploader(
        f"CSV file (numeric columns, up to {bounds.upload_mb} MB)",
        type=["csv", "txt"],
        key="data.upload",
        help="One column per feature, one row per time step; a first date column is ignored.",
    )
columns = st.columns(2)
values = {}
for index, setting in enumerate(source.settings):
    with columns[index * 2 // max(len(source.settings), 1)]:
        values[setting.name] = setting_input(setting, f"data.{name}", bounds, use_link=linked, source=name)
st.caption(source.caption)

dataset = None
if source.loader is not None:
    dataset = loaders.dataset(name, tuple(sorted(values.items())))
    links.write(drop=DATA_LINK_NAMES, source=name, **{s.name: s.text(values[s.name]) for s in source.settings})
elif upload is None:
    st.info("Choose a CSV file to use your own series.")
else:
    dataset, error = loaders.uploaded_csv(
        upload.getvalue(), *(int(values[n]) for n in ("n_input", "n_output", "stride"))
    )
    if error:
        st.error(f"This file cannot be used: {error}")
    values["file"] = upload.name
if dataset is None:
    st.stop()

version = repr((name, sorted(values.items())))
if st.session_state.get(keys.DATA_VERSION) != version:
    st.session_state[keys.DATA] = dataset
    st.session_state[keys.DATA_SETTINGS] = data_settings(
        name, dataset, {k: v for k, v in values.items() if k != "file"}
    )
    st.session_state[keys.DATA_VERSION] = version
job = server.current_job()
if job is not None and st.session_state.get(keys.RUN_DATA_VERSION) != version:
    st.warning(f"The data changed since run #{job.id} was trained: start a new run on the Train page.")

SYNTHETIC_STORY = (
    "**How these series are made** (the paper's generator). Each input holds two peaks, at a random step "
    "i1 in 1..10 and i2 in 10..18, of random heights j1 and j2. They decide the future: the series steps by "
    "j2 − j1 (up or down) at the breakpoint i2 + |i2 − i1|, give or take 3 steps (dotted). The forecaster "
    "must read *when* from the distance between the peaks and *how high* from their heights: a sharp "
    "change at a time it must infer, where the MSE loss hedges with a smooth ramp and DILATE aims for "
    "the step."
)

examples = np.arange(min(6, len(dataset.test_x)))
st.subheader("Examples from the test set")
breaks = dataset.test_breaks
if breaks is not None:
    st.markdown(SYNTHETIC_STORY)
    early = breaks < dataset.n_input  # (n,) the step falls in the input window: the target is flat
    st.caption(
        f"{int(early.sum())} of the {len(breaks)} test series ({early.mean():.0%}) have their step inside the "
        "input window (flagged): their target is flat, and a flat forecast is right for them."
    )
for start in range(0, len(examples), 3):
    for column, i in zip(st.columns(3), examples[start : start + 3], strict=False):
        step = int(breaks[i]) if breaks is not None else None
        flag = "step inside the input" if step is not None and step < dataset.n_input else ""
        figure = charts.series_thumbnail(dataset.test_x[i], dataset.test_y[i], step, f"test series {i}", flag)
        column.plotly_chart(figure)

st.subheader("Summary")
summary = {
    "training windows": f"{len(dataset.train_x):d}",
    "test windows": f"{len(dataset.test_x):d}",
    "input steps": f"{dataset.n_input:d}",
    "output steps": f"{dataset.n_output:d}",
    "features": f"{dataset.n_features:d}",
    "mean of the training inputs": f"{dataset.train_x.mean():.3g}",
    "std of the training inputs": f"{dataset.train_x.std():.3g}",
}
if dataset.train_breaks is not None:
    summary["mean breakpoint (time step)"] = f"{dataset.train_breaks.mean():.1f}"
    summary["test series with the step in the input"] = f"{int((dataset.test_breaks < dataset.n_input).sum()):d}"
st.dataframe(pd.Series(summary, name="value"))
