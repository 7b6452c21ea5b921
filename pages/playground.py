"""Loss playground: how MSE, soft-DTW, the temporal term, DILATE and the divergence react to a
forecast whose step is late, too high or too low, smoothed, or drawn by hand; five presets lead
through it, each a link that sets the sliders."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_lab import playground
from dilate_lab.settings import GAMMAS
from explorer import charts, links, server
from explorer import charts_playground as figures
from explorer import playground_text as words
from explorer.frame import require_app_frame
from explorer.plotly_react import plotly_chart as draw  # updated in place, not drawn anew

require_app_frame()

# Each setting: its name in the link, and its bounds (gamma: one of GAMMAS).
LINK = {
    "length": ("len", 10, 100),
    "position": ("pos", 1, 99),
    "height": ("height", -2.0, 2.0),
    "noise": ("noise", 0.0, 0.3),
    "shift": ("shift", -10, 10),
    "scale": ("scale", 0.0, 2.0),
    "smooth": ("smooth", 0, 10),
    "alpha": ("alpha", 0.0, 1.0),
    "gamma": ("gamma", None, None),
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


@st.cache_data(max_entries=64, show_spinner=False)
def cheapest_paths(D):
    """The cheapest paths closest to and farthest from the diagonal."""
    return playground.closest_cheapest_path(D), playground.closest_cheapest_path(D, farthest=True)


def from_link() -> dict:
    """Every setting as the page's link gives it, the defaults where it gives none."""
    d = playground.DEFAULTS
    values = {
        name: links.read(url, d[name], choices=GAMMAS) if name == "gamma" else links.read(url, d[name], low, high)
        for name, (url, low, high) in LINK.items()
    }
    values["position"] = min(values["position"], values["length"] - 1)
    return values


def link_of(settings: dict) -> dict[str, str]:
    return {LINK[name][0]: str(value) for name, value in settings.items()}


def is_set(preset: dict) -> bool:
    return all(np.isclose(st.session_state[f"play.{name}"], value) for name, value in preset["settings"].items())


# A link (a preset, a shared URL) sets the sliders; the page's own writes to it do not.
in_link = {url: st.query_params.get(url) for url, _, _ in LINK.values()}
if st.session_state.get("play.link") != in_link or any(f"play.{name}" not in st.session_state for name in LINK):
    for name, value in from_link().items():
        st.session_state[f"play.{name}"] = value

st.title("Loss playground")
st.caption(
    "Make a forecast from the target and see how each loss scores it, and where one step of gradient descent on "
    "that loss would move it. It opens on a step forecast 3 steps late and smeared, as a model trained with MSE "
    "draws it."
)
guide = st.container(border=True)
guide.markdown("**A guided path**: each link sets the sliders.")
for name, preset in words.PRESETS.items():
    link, sentence = guide.columns([1, 3], vertical_alignment="center")
    link.page_link("pages/playground.py", label=name, query_params=link_of(preset["settings"]), icon=":material/tune:")
    sentence.markdown(preset["sentence"])

st.subheader("The forecast, and where each loss pushes it")
left, right = st.columns([1, 2])
with left:
    shift = st.slider("Time shift", -10, 10, key="play.shift", help="Steps late (negative: early).")
    scale = st.slider("Height scale", 0.0, 2.0, step=0.1, key="play.scale", help="1: the true height.")
    smooth = st.slider("Smoothing", 0, 10, key="play.smooth", help="Half-width of a moving average.")
    with st.expander("The target: length, step, noise"):
        length = st.slider("Length", 10, 100, key="play.length", help="Steps in the series.")
        if st.session_state["play.position"] > length - 1:
            st.session_state["play.position"] = length - 1
        position = st.slider(
            "Step position", 1, length - 1, key="play.position", help="The first step at the new level."
        )
        height = st.slider("Step height", -2.0, 2.0, step=0.1, key="play.height")
        noise = st.slider("Noise", 0.0, 0.3, step=0.01, key="play.noise", help="Gaussian, fixed seed.")
    drawing = st.expander("Draw the forecast by hand: edit its values", key="play.draw", on_change="rerun")
with right:
    chosen = st.radio(
        "Gradient drawn",
        playground.LOSS_NAMES,
        index=playground.LOSS_NAMES.index("DILATE"),
        horizontal=True,
        key="play.gradient",
        help="Bars: d loss / d forecast point. One step of gradient descent moves each point against its bar.",
    )
    gradient_slot, gradient_words = st.empty(), st.empty()

scores_area = st.container()
scores_area.subheader("Every loss at this forecast")
alpha = scores_area.slider("alpha", 0.0, 1.0, step=0.05, key="play.alpha", help="DILATE's shape weight.")
alignment_area = st.container()
alignment_area.subheader("The alignment DTW finds")
gamma = alignment_area.select_slider(
    "gamma",
    GAMMAS,
    key="play.gamma",
    help="soft-DTW's temperature: small, one alignment path; large, many paths share the weight. "
    "The paper trains with 0.01.",
)
settings = {
    "length": length,
    "position": position,
    "height": height,
    "noise": noise,
    "shift": shift,
    "scale": scale,
    "smooth": smooth,
    "alpha": alpha,
    "gamma": gamma,
}
links.write(**link_of(settings))
st.session_state["play.link"] = {url: st.query_params.get(url) for url, _, _ in LINK.values()}
for name, preset in words.PRESETS.items():
    if is_set(preset):
        guide.info(f"**{name}**: {preset['look']}", icon=":material/visibility:")

target = playground.step_target(length, position, height, noise)
forecast = playground.forecast_from(target, shift, scale, smooth)
# Its table is made only while it is open: a closed one would still be rebuilt in the browser at every move.
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
if not server.compiler().ready(KERNELS):  # on a fresh server, the forecast shows while its kernels compile
    gradient_slot.plotly_chart(
        figures.forecast_panel(target, forecast), key="play.while_compiling", config=figures.CONFIG
    )
server.kernels(*KERNELS)
result = analyse(forecast, target, alpha, gamma)
scores, gradients, views = result["scores"], result["gradients"], result["views"]
largest_move = 0.25 * max(np.ptp(target), 1e-3)  # the most-pushed point of all the losses moves a quarter of the range
rate = playground.common_rate(gradients, largest_move)
draw(
    gradient_slot,
    figures.gradient_view(target, forecast, gradients, chosen, rate),
    key="play.gradient_chart",
    config=figures.CONFIG,
    alt=f"The forecast, the target and d {chosen} / d point at each point",
)
reason = playground.no_gradient_reason(chosen, gradients[chosen], views["E"], views["D"])
if reason:
    gradient_words.info(words.no_gradient(reason, chosen, gamma, scores))
else:
    gradient_words.markdown(words.chosen_push(chosen, gradients, rate))

columns = scores_area.columns(len(scores))
for column, (name, value) in zip(columns, scores.items(), strict=True):
    column.metric(name, f"{value:.4f}")
scores_area.markdown(
    f"**DILATE** = alpha × soft-DTW + (1 − alpha) × temporal = {alpha:.2f} × ({scores['soft-DTW']:.4f}) "
    f"+ {1 - alpha:.2f} × {scores['temporal']:.4f} = **{scores['DILATE']:.4f}**"
)
if scores["soft-DTW"] < 0:
    scores_area.caption(
        "soft-DTW is negative here: its soft minimum over alignment paths falls below the best path's cost when "
        "many paths are nearly as good (along the flat parts, all of them cost 0), the more so the larger "
        "gamma. The divergence removes that offset: it is ≥ 0, and 0 only for the target itself."
    )
draw(
    scores_area,
    figures.gradient_grid(gradients),
    key="play.gradient_grid",
    config=figures.CONFIG,
    alt="Every loss's gradient at each forecast point, on one scale",
)
scores_area.markdown(words.every_push(gradients, rate, length))

path, farthest = cheapest_paths(views["D"])
left, right = alignment_area.columns(2)
draw(
    left,
    charts.cost_matrix(views["D"], path, title="DTW cost matrix and a cheapest path"),
    key="play.cost",
    config=figures.CONFIG,
)
draw(right, charts.soft_alignment(views["E"], gamma), key="play.soft_map", config=figures.CONFIG)
alignment_area.caption(
    "In both maps a value of 0 is the background and more colour is more: costly cells (left), likely pairs "
    "(right). " + words.path_caption(path, views["path"], views["D"], views["scores"], farthest)
)

st.subheader("Each loss as the forecast moves")
shifts, by_shift = shift_curve(target, alpha, gamma, scale, smooth)
scales, by_scale = scale_curve(target, alpha, gamma, shift, smooth)
shift_excess = playground.excess(shifts, by_shift, 0)
scale_excess = playground.excess(scales, by_scale, 1.0)
left, right = st.columns(2)
draw(
    left,
    figures.loss_excess(shifts, shift_excess, shift, "time shift (steps)", "loss − loss on time"),
    key="play.shift_curves",
    config=figures.CONFIG,
    alt="Each loss, less its value on time, against the time shift",
)
draw(
    right,
    figures.loss_excess(scales, scale_excess, scale, "height scale", "loss − loss at the true height"),
    key="play.scale_curves",
    config=figures.CONFIG,
    alt="Each loss, less its value at the true height, against the height scale",
)
st.caption(words.curve_caption(shifts, shift_excess, shift, length))
