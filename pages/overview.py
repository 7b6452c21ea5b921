"""Overview: the idea in one picture, how each measure ranks a perfect, a late and a smooth
forecast, and the paper's claims in brief."""

import streamlit as st

from dilate_lab import paper, playground
from explorer import charts_playground, server
from explorer.frame import require_app_frame

require_app_frame()

LATE = 4  # steps
SMOOTH = 6  # half-width of the moving average
ALPHA, GAMMA = 0.5, 0.01  # the paper's, on the synthetic data
METRICS = ("MSE", "DTW", "TDI")  # evaluation: exact, on the single best alignment path
LOSSES = ("MSE", "soft-DTW", "temporal", "DILATE", "divergence")  # training: soft, differentiable
WRONG = ("late", "smooth")


def examples():
    """The target and the three forecasts: numpy only, drawn before any kernel is compiled."""
    target = playground.step_target(length=40, position=20)
    forecasts = {
        "perfect": target.copy(),
        "late": playground.forecast_from(target, shift=LATE),
        "smooth": playground.forecast_from(target, smooth=SMOOTH),
    }
    return target, forecasts


@st.cache_data(show_spinner=False)
def scores():
    target, forecasts = examples()
    return playground.scorecard(forecasts, target, ALPHA, GAMMA)


def ranked(measure: str) -> str:
    """'perfect < late < smooth' for one measure, equal values joined by '='."""
    groups = playground.ranking({name: card[name][measure] for name in forecasts})
    return " < ".join(" = ".join(group) for group in groups)


def table(measures) -> str:
    """A markdown table, one row per measure, one column per forecast, narrow enough for a phone;
    the wrong forecast the measure prefers in bold (both when they tie)."""
    rows = ["| | " + " | ".join(forecasts) + " |", "|---" * (len(forecasts) + 1) + "|"]
    for measure in measures:
        wrong = {name: card[name][measure] for name in WRONG}
        preferred = playground.ranking(wrong)[0]
        cells = [f"{card[name][measure]:.3f}" for name in forecasts]
        cells = [f"**{cell}**" if name in preferred else cell for name, cell in zip(forecasts, cells, strict=True)]
        rows.append(f"| {measure} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


target, forecasts = examples()

st.title("DILATE Explorer")
st.markdown(
    "Forecasting a **sudden change** is hard for a model trained with the mean squared error: "
    "when it is unsure *when* the step comes, MSE rewards a forecast that smears the step out. "
    "**soft-DTW** compares shapes whatever their timing, so it keeps the step but may put it at the "
    "wrong time. **DILATE** (Le Guen & Thome, NeurIPS 2019) adds a temporal term that penalises "
    "the alignment's distance from the diagonal: sharp *and* on time."
)
titles = {"perfect": "Perfect", "late": f"Sharp but {LATE} steps late", "smooth": "Smooth (on time, smeared)"}
for column, (name, forecast) in zip(st.columns(len(forecasts)), forecasts.items(), strict=True):
    column.markdown(f"**{titles[name]}**")
    column.plotly_chart(charts_playground.forecast_panel(target, forecast), key=f"overview.{name}")

st.subheader("Which forecast does each measure prefer?")
server.kernels("scores")  # a fresh server's first visit: the pictures above show while they compile
card = scores()
st.markdown(
    f"**MSE ranks {ranked('MSE')}**: it prefers the smeared step to the sharp late one. "
    f"**DILATE ranks {ranked('DILATE')}**: a late step keeps its shape, so it costs less than a smeared "
    "one, and more than the perfect forecast because it is late. Lower is better for every measure below."
)
st.markdown(
    "**Metrics** judge a finished forecast (evaluation, as the paper reports them): exact and hard. "
    "In bold, the wrong forecast each one prefers."
)
st.markdown(table(METRICS))
st.markdown(
    f"**Losses** train the model (gamma = {GAMMA:g}, alpha = {ALPHA:g}): soft, so that every point gets a "
    "gradient; divergence is the soft-DTW divergence."
)
st.markdown(table(LOSSES))
rankings = [f"{measure}: {ranked(measure)}" for measure in dict.fromkeys(METRICS + LOSSES)]
rankings = [f"**{line}**" if line.startswith(("MSE:", "DILATE:")) else line for line in rankings]
st.markdown("Each measure's ranking, best first:\n" + "\n".join(f"- {line}" for line in rankings))
st.subheader("Metrics are hard, losses are soft")
perfect = card["perfect"]
st.markdown(
    f"- **DTW and TDI are hard**: DTW sums the costs along the single best alignment path, and TDI is that "
    "path's distance from the diagonal. **soft-DTW** replaces the minimum over paths with a soft minimum, "
    "and DILATE's **temporal** term is TDI measured on the soft path map, an average of all paths weighted "
    "by their cost, instead of on the best path alone. That is why they differ: the perfect forecast has "
    f"TDI {perfect['TDI']:.3f} but a temporal term of {perfect['temporal']:.3f}, because along the flat "
    "parts many paths are as good as the diagonal and share its weight.\n"
    f"- **soft-DTW can be negative** ({perfect['soft-DTW']:.3f} for the perfect forecast, so DILATE is "
    f"{perfect['DILATE']:.3f}): the soft minimum of many paths of cost 0 lies below 0 "
    "(−gamma log of their number), and soft-DTW of a series with itself is not 0. The **soft-DTW "
    "divergence** (Blondel, Mensch & Vert 2021) subtracts the mean of the two series' soft-DTW with "
    "themselves: it is ≥ 0, and 0 only for identical series."
)

st.subheader("What the paper claims")
st.markdown(
    "Le Guen & Thome train the same forecasters with MSE, soft-DTW and DILATE and report (Table 1): "
    f"{paper.CLAIMS_SENTENCE} Their custom backward is 20 to 35 times faster than autograd (Figure 5a), and alpha "
    "trades shape for timing (Figure 5b)."
)
st.page_link("pages/paper.py", label="Each claim, checked on the Paper page", icon=":material/article:")
st.markdown(
    "Open the **Loss playground** to move a step and watch each loss and its gradient, **Data** to make "
    "step series, **Train** to train the forecasters side by side, and **Alignments** to see why they differ."
)
