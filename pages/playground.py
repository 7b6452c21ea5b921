"""Loss playground: how MSE, soft-DTW, the temporal term, DILATE and the divergence react to a
forecast whose step is late, too high or too low, smoothed, or drawn by hand."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_core import playground
from dilate_core.metrics import alignment_views
from dilate_core.settings import GAMMAS
from explorer import charts, links, server
from explorer.frame import require_app_frame

require_app_frame()

st.title("Loss playground")
st.caption("Make a forecast from the target, and see how each loss scores it, and where its gradient pushes.")
q = links.read
left, right = st.columns(2)
with left:
    st.markdown("**Target**")
    length = st.slider("Length", 10, 100, q("len", 40, 10, 100), key="play.length", help="Steps in the series.")
    position = st.slider(
        "Step position",
        1,
        length - 1,
        q("pos", min(20, length - 1), 1, length - 1),
        key="play.position",
        help="The first step at the new level.",
    )
    height = st.slider("Step height", -2.0, 2.0, q("height", 1.0, -2.0, 2.0), 0.1, key="play.height")
    noise = st.slider(
        "Noise", 0.0, 0.3, q("noise", 0.0, 0.0, 0.3), 0.01, key="play.noise", help="Gaussian, fixed seed."
    )
with right:
    st.markdown("**Forecast made from it**")
    shift = st.slider(
        "Time shift", -10, 10, q("shift", 3, -10, 10), key="play.shift", help="Steps late (negative: early)."
    )
    scale = st.slider(
        "Height scale", 0.0, 2.0, q("scale", 1.0, 0.0, 2.0), 0.1, key="play.scale", help="1: the true height."
    )
    smooth = st.slider(
        "Smoothing", 0, 10, q("smooth", 0, 0, 10), key="play.smooth", help="Half-width of a moving average."
    )
    alpha = st.slider(
        "alpha", 0.0, 1.0, q("alpha", 0.5, 0.0, 1.0), 0.05, key="play.alpha", help="DILATE's shape weight."
    )
    gamma = st.select_slider(
        "gamma", GAMMAS, q("gamma", 0.01, choices=GAMMAS), key="play.gamma", help="soft-DTW's temperature."
    )
links.write(
    len=length,
    pos=position,
    height=height,
    noise=noise,
    shift=shift,
    scale=scale,
    smooth=smooth,
    alpha=alpha,
    gamma=gamma,
)

target = playground.step_target(length, position, height, noise)
forecast = playground.forecast_from(target, shift, scale, smooth)
with st.expander("Draw the forecast by hand: edit its values"):
    edited = st.data_editor(
        pd.DataFrame({"forecast": forecast}),
        key=f"play.editor.{length}.{position}.{height}.{noise}.{shift}.{scale}.{smooth}",
        num_rows="fixed",
        use_container_width=True,
    )
    values = pd.to_numeric(edited["forecast"], errors="coerce").to_numpy(dtype=float)
    if np.isfinite(values).all():
        forecast = values
    else:
        st.error("Every value must be a number; the empty or invalid ones are ignored until fixed.")

server.kernels("scores", "gradients", "alignments")
scores = playground.losses(forecast, target, alpha, gamma)
columns = st.columns(len(scores))
for column, (name, value) in zip(columns, scores.items(), strict=True):
    column.metric(name, f"{value[0]:.4f}")

gradients = playground.gradients(forecast, target, alpha, gamma)
chosen = st.radio(
    "Gradient drawn",
    playground.LOSS_NAMES,
    index=3,
    horizontal=True,
    key="play.gradient",
    help="Bars: d loss / d forecast point. One step of gradient descent moves each point against its bar.",
)
st.plotly_chart(charts.step_pair(target, forecast, gradients[chosen], chosen))

views = alignment_views(target[:, None], forecast[:, None], gamma)
left, right = st.columns(2)
left.plotly_chart(charts.cost_matrix(views["D"], views["path"]))
right.plotly_chart(charts.soft_alignment(views["E"], gamma))

curves = playground.curves(target, alpha, gamma)
st.markdown("**Each loss against the time shift** (the red line: this forecast's shift)")
st.plotly_chart(charts.loss_curves(*curves["shift"], current=shift, x_title="shift (steps)"))
st.markdown("**Each loss against the height scale**")
st.plotly_chart(charts.loss_curves(*curves["scale"], current=scale, x_title="height scale"))
st.caption(
    "soft-DTW barely moves under small shifts (DTW re-aligns the step), the temporal term grows with the shift, "
    "and DILATE combines both; the divergence is 0 only for the target itself."
)
