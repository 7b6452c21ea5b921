"""DILATE Explorer: the Streamlit entry point (a frame for the pages to come)."""

import streamlit as st

st.set_page_config(page_title="DILATE Explorer", layout="wide")
st.title("DILATE Explorer")
st.write(
    "See, live, why the shape-and-time loss DILATE forecasts sudden changes better than MSE or "
    "soft-DTW. The core package `dilate_core` already computes soft-DTW, the soft alignment, "
    "DILATE and the paper's metrics; the interactive pages are being built."
)
