"""Overview: the idea in one picture."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer.charts import COLOURS
from explorer.examples import step_example

st.title("DILATE Explorer")
st.markdown(
    "Forecasting a **sudden change** is hard for a model trained with the mean squared error: "
    "when it is unsure *when* the step comes, MSE rewards a forecast that smears the step out. "
    "**soft-DTW** compares shapes whatever their timing, so it keeps the step but may put it at the "
    "wrong time. **DILATE** (Le Guen & Thome, NeurIPS 2019) adds a temporal term that penalises "
    "the alignment's distance from the diagonal: sharp *and* on time."
)
example = step_example()
figure = go.Figure()
figure.add_scatter(y=example["series"]["target"], name="target", line={"color": COLOURS["target"], "width": 4})
figure.add_scatter(y=example["series"]["smooth"], name="smooth forecast", line={"color": COLOURS["mse"]})
figure.add_scatter(y=example["series"]["late"], name="sharp but 4 steps late", line={"color": COLOURS["soft_dtw"]})
figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title="time step")
st.plotly_chart(figure)
st.markdown("How each measure scores the two wrong forecasts (lower is better):")
st.dataframe(pd.DataFrame(example["scores"]).T.style.format("{:.3f}"))
st.markdown(
    "The late step costs nothing in shape (DTW ≈ 0) but its alignment leaves the diagonal "
    "(TDI > 0); the smooth forecast has a lower MSE but the wrong shape. Open **Data** to make "
    "step series, **Train** to train three forecasters side by side, **Alignments** to see why."
)
