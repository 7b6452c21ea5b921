"""Alignments: for one test series, each model's forecast, DTW cost matrix and path, and soft path
map; live from the last evaluation while the run trains, for every test series once it ends."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_core.metrics import FLAT_FRACTION, alignment_views, flatness
from dilate_lab import paper
from dilate_lab.settings import GAMMAS, LOSS_LABELS
from dilate_lab.train import preview_indices
from explorer import charts, finished, links, server
from explorer.frame import require_app_frame
from explorer.jobs import FINAL_STATES

require_app_frame()

MAP_GAMMAS = [*GAMMAS, 3.0, 10.0]  # up to where the map spreads wide
LIVE_REFRESH_S = 2.0  # how often the page looks for a new evaluation while the run trains
HOW_TO_READ = (
    "Each cell (i, j) pairs the target at step i (down) with the forecast at step j (across); the cost "
    "matrix is their squared difference (dark: close). DTW's path (red) is the cheapest way through it "
    "from the top-left to the bottom-right. On the dashed diagonal the forecast is on time; a path "
    "**above** it (to the right) matches each target step with a later forecast step: the forecast is "
    "late; **below** it, early. The distance from the diagonal is the lag, which TDI adds up. A "
    "**horizontal run** matches one target step with several forecast steps: the forecast lingers (a "
    "vertical run: it hurries). The soft path map spreads the path over the paths of similar cost (more "
    "with a larger gamma); DILATE's temporal term is its weight times the squared lag."
)

st.title("Alignments")
trainer, dataset, job = finished.current_run("alignments", live=True)
training = job.state not in FINAL_STATES
server.kernels("scores", "alignments")
gamma = st.select_slider(
    "gamma of the soft path map",
    MAP_GAMMAS,
    links.read("map_gamma", 0.01, choices=MAP_GAMMAS),
    key="align.gamma",
    help="Small gamma: the soft path map tends to the hard DTW path; large gamma: it spreads over many paths.",
)
scales = paper.scales(job.config.dataset)


def pick_while_training(job) -> tuple[int, dict, int] | None:
    """(series, forecasts, epoch) of the last evaluation's previews, with a picker among them."""
    last = next((r for r in reversed(job.reports) if r.get("previews")), None)
    if last is None:
        return None
    index = preview_indices(len(dataset.test_x), job.config.n_preview)
    series = st.radio(
        "Test series (the ones the run forecasts at every evaluation)",
        index.tolist(),
        key="align.live_series",
        horizontal=True,
    )
    k = index.tolist().index(series)
    return series, {name: np.asarray(p)[k] for name, p in last["previews"].items()}, last["epoch"]


def pick_when_finished(job) -> tuple[int, dict, int]:
    """(series, forecasts, epoch): the series chosen by number or from the table of those where the
    losses disagree most (their DTW apart the most)."""
    per_loss = finished.scores(job, trainer, dataset)
    dtw = pd.DataFrame({LOSS_LABELS[name]: s["dtw"] * scales["dtw"] for name, s in per_loss.items()})
    table = dtw.assign(**{"DTW gap": dtw.max(axis=1) - dtw.min(axis=1)})
    if dataset.test_breaks is not None:
        table.insert(0, "step at", dataset.test_breaks)
    table = table.sort_values("DTW gap", ascending=False).head(8).round(2)
    n_test = len(dataset.test_x)
    st.session_state.setdefault("align.series", links.read("series", int(table.index[0]), 0, n_test - 1))
    gain = per_loss["mse"]["dtw"] - per_loss["dilate"]["dtw"] if {"mse", "dilate"} <= set(per_loss) else None

    def show(series: int) -> None:
        st.session_state["align.series"] = int(series)

    def show_clicked_row() -> None:
        rows = st.session_state["align.table"].selection.rows
        if rows:
            show(table.index[rows[0]])

    left, right = st.columns([1, 2])
    with left:
        st.number_input(
            f"Test series (0 to {n_test - 1})",
            0,
            n_test - 1,
            key="align.series",
            help="Which test series to align; its number is kept in the page's link.",
        )
        st.button(
            "Where the losses disagree most",
            key="align.disagree",
            help="The series with the largest gap between the models' DTW.",
            on_click=show,
            args=(table.index[0],),
        )
        if gain is not None:
            st.button(
                "Where DILATE beats MSE most",
                key="align.dilate_best",
                help="The series where DILATE's DTW is lowest against MSE's.",
                on_click=show,
                args=(int(np.argmax(gain)),),
            )
    with right:
        st.caption(
            f"The series where the models' DTW ({paper.metric_title('dtw', job.config.dataset)}) differ most; "
            "click a row to see it:"
        )
        st.dataframe(table, on_select=show_clicked_row, selection_mode="single-row", key="align.table")
    series = int(st.session_state["align.series"])
    predictions = trainer.predict(dataset.test_x[series : series + 1], best=trainer.config.select_on_validation)
    return series, {name: forecast[0] for name, forecast in predictions.items()}, job.epoch


def draw(series: int, predictions: dict, epoch: int, live: bool) -> None:
    """Each model's forecast, cost matrix with DTW path, and soft path map, one column per model."""
    x, y = dataset.test_x[series], dataset.test_y[series]
    breakpoint = int(dataset.test_breaks[series]) if dataset.test_breaks is not None else None
    views = {name: alignment_views(y, forecast, gamma) for name, forecast in predictions.items()}
    top = max(float(v["D"].max()) for v in views.values())  # one colour range for the cost matrices
    when = f"epoch {epoch}, the last evaluation: the page follows the run" if live else f"after {epoch} epochs"
    st.caption(f"Test series {series}, {when}. The cost matrices share one colour range, 0 to {top:.3g}.")
    t0 = dataset.n_input
    with st.expander("How to read the matrices", expanded=True):
        st.markdown(HOW_TO_READ)
    for column, (name, forecast) in zip(st.columns(len(views)), predictions.items(), strict=True):
        view = views[name]
        with column:
            st.subheader(LOSS_LABELS[name])
            # keyed: models that forecast alike (all of them before training) draw identical figures
            st.plotly_chart(charts.forecast(x, y, {name: forecast}, breakpoint), key=f"align.forecast.{name}")
            scores = view["scores"]
            st.caption(
                " · ".join(
                    f"{paper.metric_title(m, job.config.dataset)} {scores[m] * scales[m]:.3g}" for m in charts.METRICS
                )
            )
            ratio = float(flatness(forecast[None], y[None])[0])
            if ratio < FLAT_FRACTION:
                st.warning(
                    f"This forecast is flat: it moves {ratio:.0%} as much as the target. Its TDI says nothing "
                    "of timing: the DTW path through a flat forecast is set by ties and tiny wiggles, near the "
                    "diagonal (TDI near 0) or far from it, at random."
                )
            st.plotly_chart(charts.cost_matrix(view["D"], view["path"], t0=t0, zmax=top), key=f"align.cost.{name}")
            soft_map = charts.soft_alignment(view["E"], gamma, t0=t0, path=view["path"])
            st.plotly_chart(soft_map, key=f"align.soft.{name}")


if training:

    @st.fragment(run_every=LIVE_REFRESH_S)
    def live() -> None:
        current = server.current_job()
        if current.state in FINAL_STATES:
            st.rerun()  # the whole page: every test series, now that the run is over
        picked = pick_while_training(current)
        if picked is None:
            st.info("The run has not evaluated its models yet: their first forecasts come in a moment.")
            return
        finished.write_run_link(current, map_gamma=gamma)
        draw(*picked, live=True)

    live()
else:
    series, predictions, epoch = pick_when_finished(job)
    finished.write_run_link(job, series=series, map_gamma=gamma)
    draw(series, predictions, epoch, live=False)
