"""Overview: the idea in one picture."""

import pandas as pd
import streamlit as st

from dilate_core import playground
from explorer import charts, server
from explorer.frame import require_app_frame

require_app_frame()

LATE = 4  # steps

st.title("DILATE Explorer")
st.markdown(
    "Forecasting a **sudden change** is hard for a model trained with the mean squared error: "
    "when it is unsure *when* the step comes, MSE rewards a forecast that smears the step out. "
    "**soft-DTW** compares shapes whatever their timing, so it keeps the step but may put it at the "
    "wrong time. **DILATE** (Le Guen & Thome, NeurIPS 2019) adds a temporal term that penalises "
    "the alignment's distance from the diagonal: sharp *and* on time."
)
target = playground.step_target(length=40, position=20)
forecasts = {
    "smooth": playground.forecast_from(target, smooth=6),
    "late": playground.forecast_from(target, shift=LATE),
}
labels = {"smooth": "smooth forecast", "late": f"sharp but {LATE} steps late"}
st.plotly_chart(charts.overview_step({"target": target, **forecasts}, labels))
st.markdown("How each measure scores the two wrong forecasts (lower is better):")
server.kernels("scores")
st.dataframe(pd.DataFrame(playground.scorecard(forecasts, target)).T.style.format("{:.3f}"))
st.markdown(
    "The late step costs nothing in shape (DTW ≈ 0) but its alignment leaves the diagonal "
    "(TDI > 0); the smooth forecast has a lower MSE but the wrong shape. Open **Data** to make "
    "step series, **Train** to train three forecasters side by side, **Alignments** to see why."
)
