"""Alignments: for one test series, each model's forecast, DTW path and soft path map."""

import streamlit as st

from dilate_core.metrics import alignment_views
from dilate_core.settings import GAMMAS, LOSS_LABELS
from explorer import charts, links, server
from explorer.finished import finished_run
from explorer.frame import require_app_frame

require_app_frame()

MAP_GAMMAS = [*GAMMAS, 3.0, 10.0]  # up to where the map spreads wide

st.title("Alignments")
trainer, dataset, job = finished_run()
n_test = len(dataset.test_x)
series = st.slider(
    "Test series",
    0,
    n_test - 1,
    links.read("series", 0, 0, n_test - 1),
    key="align.series",
    help="Which test series to align; its number is kept in the page's link.",
)
gamma = st.select_slider(
    "gamma of the soft path map",
    MAP_GAMMAS,
    links.read("gamma", 0.01, choices=MAP_GAMMAS),
    key="align.gamma",
    help="Small gamma: the soft path map tends to the hard DTW path; large gamma: it spreads over many paths.",
)
links.write(series=series, gamma=gamma)

server.kernels("scores", "alignments")
x, y = dataset.test_x[series], dataset.test_y[series]
predictions = trainer.predict(x[None], best=trainer.config.select_on_validation)
breakpoint = int(dataset.test_breaks[series]) if dataset.test_breaks is not None else None
columns = st.columns(len(predictions))
for column, (name, forecast) in zip(columns, predictions.items(), strict=True):
    views = alignment_views(y, forecast[0], gamma)
    with column:
        st.subheader(LOSS_LABELS[name])
        st.plotly_chart(charts.forecast(x, y, {name: forecast[0]}, breakpoint), key=f"align.forecast.{name}")
        st.plotly_chart(charts.cost_matrix(views["D"], views["path"]), key=f"align.cost.{name}")
        st.plotly_chart(charts.soft_alignment(views["E"], gamma), key=f"align.soft.{name}")
        scores = views["scores"]
        st.caption(f"MSE {scores['mse']:.4f} · DTW {scores['dtw']:.4f} · TDI {scores['tdi']:.4f}")
