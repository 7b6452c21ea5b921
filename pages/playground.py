"""Loss playground: how MSE, soft-DTW, the temporal term, DILATE and the divergence react to a
forecast whose step is late, too high or too low, smoothed, or drawn by hand."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_lab import playground
from dilate_lab.settings import GAMMAS
from explorer import charts, links, server
from explorer.frame import require_app_frame

require_app_frame()

PUSH_SHARE = 0.25  # the points a sentence names: pushed at least this share of the largest push
# What each loss's gradient does, in words; the page adds where it pushes, from the numbers.
MEANING = {
    "MSE": "pulls each point towards the target's value at the same time step",
    "soft-DTW": "pulls each point towards the target values it is aligned with, wherever they lie in time: "
    "it fixes the shape, not the timing",
    "temporal": "moves points so that the alignment comes closer to the diagonal: it moves the step towards "
    "its true time",
    "DILATE": "is alpha × soft-DTW's push + (1 − alpha) × the temporal term's: shape and timing at once",
    "divergence": "is soft-DTW's push minus that of the forecast's alignment with itself; it stops only at the target",
}
NO_GRADIENT = {
    "identical": "The forecast equals the target: {name} is at its minimum, there is nothing to push.",
    "equal_matches": "At gamma = {gamma:g} the soft alignment weighs only pairs of equal values (the forecast is "
    "the target re-timed: DTW = 0). Moving a point a little changes those costs only to second order, and "
    "any other path costs so much more that its weight, exp(−cost / gamma), stays 0. So {name} has no "
    "gradient here: it cannot tell that the step is at the wrong time. Smooth the forecast a little, or "
    "raise gamma to 0.3 or more, and the gradient comes back.",
    "hard_path": "At gamma = {gamma:g} the soft alignment is a single path (every cell is 0 or 1): moving a point "
    "a little changes no path's weight, and {name} depends on the path only. Raise gamma so that nearby "
    "paths share the weight, and the gradient comes back.",
    "balanced": "The pushes on every point cancel out: {name} is at a stationary point for this forecast.",
}


@st.cache_data(max_entries=64, show_spinner=False)
def analyse(forecast, target, alpha, gamma):
    return playground.analyse(forecast, target, alpha, gamma)


# Each curve cached apart: moving the shift redraws the height curve only, and the reverse.
@st.cache_data(max_entries=64, show_spinner=False)
def shift_curve(target, alpha, gamma, scale, smooth):
    return playground.shift_curve(target, alpha, gamma, scale=scale, smooth=smooth)


@st.cache_data(max_entries=64, show_spinner=False)
def scale_curve(target, alpha, gamma, shift, smooth):
    return playground.scale_curve(target, alpha, gamma, shift=shift, smooth=smooth)


def points(first: int, last: int) -> str:
    return f"point {first}" if first == last else f"points {first}–{last}"


def pushes_in_words(gradient) -> str:
    runs = playground.pushes(gradient, PUSH_SHARE)
    return ", ".join(f"{'raises' if up > 0 else 'lowers'} {points(first, last)}" for first, last, up in runs)


st.title("Loss playground")
st.caption(
    "Make a forecast from the target and see how each loss scores it, and where one step of gradient "
    "descent on that loss would move it. It opens on a step forecast 3 steps late and smeared, as a model "
    "trained with MSE draws it."
)
q = links.read
d = playground.DEFAULTS
left, right = st.columns(2)
with left:
    st.markdown("**Target**")
    length = st.slider(
        "Length", 10, 100, q("len", d["length"], 10, 100), key="play.length", help="Steps in the series."
    )
    position = st.slider(
        "Step position",
        1,
        length - 1,
        q("pos", min(d["position"], length - 1), 1, length - 1),
        key="play.position",
        help="The first step at the new level.",
    )
    height = st.slider("Step height", -2.0, 2.0, q("height", d["height"], -2.0, 2.0), 0.1, key="play.height")
    noise = st.slider(
        "Noise", 0.0, 0.3, q("noise", d["noise"], 0.0, 0.3), 0.01, key="play.noise", help="Gaussian, fixed seed."
    )
with right:
    st.markdown("**Forecast made from it**")
    shift = st.slider(
        "Time shift", -10, 10, q("shift", d["shift"], -10, 10), key="play.shift", help="Steps late (negative: early)."
    )
    scale = st.slider(
        "Height scale", 0.0, 2.0, q("scale", d["scale"], 0.0, 2.0), 0.1, key="play.scale", help="1: the true height."
    )
    smooth = st.slider(
        "Smoothing", 0, 10, q("smooth", d["smooth"], 0, 10), key="play.smooth", help="Half-width of a moving average."
    )
    alpha = st.slider(
        "alpha", 0.0, 1.0, q("alpha", d["alpha"], 0.0, 1.0), 0.05, key="play.alpha", help="DILATE's shape weight."
    )
    gamma = st.select_slider(
        "gamma",
        GAMMAS,
        q("gamma", d["gamma"], choices=GAMMAS),
        key="play.gamma",
        help="soft-DTW's temperature: small, one alignment path; large, many paths share the weight. "
        "The paper trains with 0.01.",
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
# Its table is made only while it is open: a closed one would still be rebuilt in the browser at every move.
drawing = st.expander("Draw the forecast by hand: edit its values", key="play.draw", on_change="rerun")
if drawing.open:
    with drawing:
        edited = st.data_editor(
            pd.DataFrame({"forecast": forecast}),
            key=f"play.editor.{length}.{position}.{height}.{noise}.{shift}.{scale}.{smooth}",
            num_rows="fixed",
            width="stretch",
        )
    values = pd.to_numeric(edited["forecast"], errors="coerce").to_numpy(dtype=float)
    if np.isfinite(values).all():
        forecast = values
    else:
        drawing.error("Every value must be a number; the empty or invalid ones are ignored until fixed.")

KERNELS = ("scores", "gradients", "alignments")
waiting = st.empty()  # on a fresh server, the forecast being made shows while its kernels compile
if not server.compiler().ready(KERNELS):
    waiting.plotly_chart(charts.forecast_panel(target, forecast), key="play.while_compiling")
server.kernels(*KERNELS)
waiting.empty()
result = analyse(forecast, target, alpha, gamma)
scores = result["scores"]
columns = st.columns(len(scores))
for column, (name, value) in zip(columns, scores.items(), strict=True):
    column.metric(name, f"{value:.4f}")
st.markdown(
    f"**DILATE** = alpha × soft-DTW + (1 − alpha) × temporal = {alpha:.2f} × ({scores['soft-DTW']:.4f}) "
    f"+ {1 - alpha:.2f} × {scores['temporal']:.4f} = **{scores['DILATE']:.4f}**"
)
if scores["soft-DTW"] < 0:
    st.caption(
        "soft-DTW is negative here: its soft minimum over alignment paths falls below the best path's cost when "
        "many paths are nearly as good (along the flat parts, all of them cost 0), the more so the larger "
        "gamma. The divergence removes that offset: it is ≥ 0, and 0 only for the target itself."
    )

st.subheader("Where each loss pushes the forecast")
chosen = st.radio(
    "Gradient drawn",
    playground.LOSS_NAMES,
    index=playground.LOSS_NAMES.index("DILATE"),
    horizontal=True,
    key="play.gradient",
    help="Bars: d loss / d forecast point. One step of gradient descent moves each point against its bar.",
)
gradient = result["gradients"][chosen]
views = result["views"]
largest_move = 0.25 * max(np.ptp(target), 1e-3)  # arrows: a quarter of the target's range at most
reason = playground.no_gradient_reason(chosen, gradient, views["E"], views["D"])
moved = None if reason else playground.descent_step(forecast, gradient, largest_move)
st.plotly_chart(charts.gradient_view(target, forecast, gradient, chosen, moved), key="play.gradient_chart")
if reason:
    st.info(NO_GRADIENT[reason].format(name=chosen, gamma=gamma))
else:
    st.markdown(
        f"**{chosen}** {MEANING[chosen]}. Here one descent step {pushes_in_words(gradient)} "
        f"(the arrows, scaled so the largest move is {largest_move:.2g})."
    )
lines = []
for name, grad in result["gradients"].items():
    if playground.no_gradient_reason(name, grad, views["E"], views["D"]):
        lines.append(f"- **{name}**: moves nothing (no gradient)")
    else:
        lines.append(f"- **{name}**: {pushes_in_words(grad)} (largest |gradient| {np.abs(grad).max():.3g})")
st.markdown("At this forecast, one descent step on each loss:\n" + "\n".join(lines))
st.plotly_chart(charts.gradient_grid(result["gradients"]), key="play.gradient_grid")
st.caption("Each loss's gradient on its own scale: a bar up, descent moves the point down.")

st.subheader("The alignment DTW finds")
left, right = st.columns(2)
left.plotly_chart(charts.cost_matrix(views["D"], views["path"]))
right.plotly_chart(charts.soft_alignment(views["E"], gamma))

st.subheader("Each loss as the forecast moves")
shifts, by_shift = shift_curve(target, alpha, gamma, scale, smooth)
scales, by_scale = scale_curve(target, alpha, gamma, shift, smooth)
shift_excess = playground.excess(shifts, by_shift, 0)
scale_excess = playground.excess(scales, by_scale, 1.0)
left, right = st.columns(2)
left.plotly_chart(
    charts.loss_excess(shifts, shift_excess, shift, "time shift (steps)", "loss − loss on time"),
    key="play.shift_curves",
)
right.plotly_chart(
    charts.loss_excess(scales, scale_excess, scale, "height scale", "loss − loss at the true height"),
    key="play.scale_curves",
)
late = shift or 3  # this forecast's shift; on time, a forecast three steps late as the example
grown = {name: values[list(shifts).index(late)] for name, values in shift_excess.items()}
moved = f"{abs(late)} step{'s' if abs(late) > 1 else ''} {'late' if late > 0 else 'early'}"
st.caption(
    "In each chart every loss shares one axis: its value minus its value for the forecast on time (left) or "
    "at the true height (right), the other settings as above; the dotted line is this forecast. "
    f"{moved}{' (this forecast)' if shift else ''}, soft-DTW grows by {grown['soft-DTW']:.3f}, the temporal term "
    f"by {grown['temporal']:.3f}, MSE by {grown['MSE']:.3f} and DILATE by {grown['DILATE']:.3f}. Hard DTW "
    "re-aligns a shifted step at no cost while the step stays inside the series (soft-DTW grows a little: at "
    "gamma > 0 it weighs every alignment, and a shift leaves fewer cheap ones): the temporal term is what makes "
    "DILATE care about timing."
)
