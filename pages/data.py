"""Data: the paper's synthetic step series, ECG5000, ETTh1, or an uploaded CSV."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_core.sources import SOURCES, data_settings
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
