"""Alignments: for one test series, each model's forecast, DTW cost matrix and path, and soft path
map; live from the last evaluation while the run trains, for every test series once it ends."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_core.metrics import alignment_views
from dilate_lab import paper
from dilate_lab.scores import tdi_reading, timed_series
from dilate_lab.settings import GAMMAS, LOSS_LABELS
from dilate_lab.train import preview_indices
from explorer import charts, charts_replay, finished, links, server
from explorer.frame import require_app_frame
from explorer.jobs import FINAL_STATES

require_app_frame()

MAP_GAMMAS = [*GAMMAS, 3.0, 10.0]  # up to where the map spreads wide
LIVE_REFRESH_S = 2.0  # how often the page looks for a new evaluation while the run trains
HOW_TO_READ = (
    "Each cell (i, j) pairs the target at step i (down) with the forecast at step j (across); the cost "
    "matrix is their squared difference (white: close; the more colour, the costlier). DTW's path (red) is the "
    "cheapest way through it "
    "from the top-left to the bottom-right. On the dashed diagonal the forecast is on time; a path "
    "**above** it (to the right) matches each target step with a later forecast step: the forecast is "
    "late; **below** it, early. The distance from the diagonal is the lag, which TDI adds up. A "
    "**horizontal run** matches one target step with several forecast steps: the forecast lingers (a "
    "vertical run: it hurries). The soft path map spreads the path over the paths of similar cost (more "
    "with a larger gamma); DILATE's temporal term is its weight times the squared lag. Along a flat stretch (the "
    "target is noise around one level) many paths cost nearly the same, and DTW takes the cheapest by a hair: its "
    "path can wander far from the diagonal through a forecast that is nearly on time, and TDI counts that wander."
)

st.title("Alignments")
trainer, dataset, job = finished.current_run("alignments", live=True)
training = job.state not in FINAL_STATES
timed = timed_series(dataset)  # (n_test,) bools: a step (a change) to time inside the forecast window
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
    # Only series with a step to time: elsewhere every model's TDI is 0 by ties, whatever its forecast.
    table = table[timed].sort_values("DTW gap", ascending=False).head(8).round(2)
    n_test = len(dataset.test_x)
    first = int(table.index[0]) if len(table) else 0
    st.session_state.setdefault("align.series", links.read("series", first, 0, n_test - 1))
    gain = None
    if {"mse", "dilate"} <= set(per_loss) and timed.any():
        gain = np.where(timed, per_loss["mse"]["dtw"] - per_loss["dilate"]["dtw"], -np.inf)

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
            help="Among the series with a step inside the forecast window, the one with the largest gap between "
            "the models' DTW.",
            on_click=show,
            args=(first,),
        )
        if gain is not None:
            st.button(
                "Where DILATE beats MSE most",
                key="align.dilate_best",
                help="Among the series with a step inside the forecast window, the one where DILATE's DTW is lowest "
                "against MSE's.",
                on_click=show,
                args=(int(np.argmax(gain)),),
            )
    with right:
        st.caption(
            f"The series where the models' DTW ({paper.metric_title('dtw', job.config.dataset)}) differ most, "
            f"among the {int(timed.sum())} of {n_test} whose target has a step (a change) inside the forecast "
            "window; click a row to see it:"
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
    if not timed[series]:
        st.warning(f"Test series {series}: {tdi_reading(y, y, 0.0, timed=False)}")
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
            reading = tdi_reading(forecast, y, scores["tdi"], timed=True) if timed[series] else None
            if reading:
                st.warning(reading)
            st.plotly_chart(charts.cost_matrix(view["D"], view["path"], t0=t0, zmax=top), key=f"align.cost.{name}")
            soft_map = charts.soft_alignment(view["E"], gamma, t0=t0, path=view["path"])
            st.plotly_chart(soft_map, key=f"align.soft.{name}")


def replay_history(job) -> tuple[np.ndarray, list[tuple[int, dict]]]:
    """(preview series indices, [(epoch, {loss: (n_preview, n_output, d) forecasts})]): the
    forecasts every evaluation of the run recorded, one entry per epoch, in order."""
    index = preview_indices(len(dataset.test_x), job.config.n_preview)
    by_epoch = {r["epoch"]: r["previews"] for r in job.reports if r.get("previews")}  # epoch 0 is reported twice
    return index, [(epoch, {n: np.asarray(p) for n, p in by_epoch[epoch].items()}) for epoch in sorted(by_epoch)]


@st.cache_resource(max_entries=8, show_spinner="Preparing the replay...")
def replay_figure(run_id, epoch: int, series: int, k: int, gamma: float, _history, _breakpoint):
    """The replay of preview series `series` (the k-th preview) at `gamma`, built once per run and epoch."""
    frames = [(e, {name: f[k] for name, f in forecasts.items()}) for e, forecasts in _history]
    n_output, names = len(dataset.test_y[series]), frames[-1][1]
    drawn = set(charts_replay.replay_epochs([e for e, _ in frames], n_output, n_output, len(names)))
    frames = [frame for frame in frames if frame[0] in drawn]
    return charts_replay.replay(dataset.test_x[series], dataset.test_y[series], frames, gamma, _breakpoint)


def show_replay(job) -> None:
    """The training replayed for one of the series the run forecast at every evaluation."""
    index, history = replay_history(job)
    if len(history) < 2 or not len(index):
        return
    st.subheader("Replay the training")
    order = sorted(range(len(index)), key=lambda k: (not timed[index[k]], k))  # series with a step first
    last = history[-1][1]
    if {"mse", "dilate"} <= set(last):
        # default: the series with a step where DILATE's last forecast is closest to its target against MSE's
        y = dataset.test_y[index]
        gap = ((last["mse"] - y) ** 2).mean(axis=(1, 2)) - ((last["dilate"] - y) ** 2).mean(axis=(1, 2))
        order = sorted(order, key=lambda k: (not timed[index[k]], -gap[k]))

    def label(k: int) -> str:
        step = "" if timed[index[k]] else " (no step in the window)"
        return f"series {index[k]}{step}"

    k = st.selectbox(
        "Test series (the run forecast these at every evaluation)", order, format_func=label, key="align.replay"
    )
    series = int(index[k])
    breakpoint = int(dataset.test_breaks[series]) if dataset.test_breaks is not None else None
    figure = replay_figure(job.id, job.epoch, series, k, gamma, history, breakpoint)
    st.plotly_chart(figure, key=f"align.replay.{job.id}.{series}.{gamma}")
    epochs = [int(frame.name) for frame in figure.frames]
    st.caption(
        f"Each model's forecast of test series {series}, its DTW path on the cost matrix and its soft path map "
        f"(gamma {gamma:g}) at {len(epochs)} of the run's evaluations, epoch {epochs[0]} to {epochs[-1]}: press "
        f"Play to watch the whole run in about {charts_replay.play_seconds(len(epochs)):.0f} s, or drag the slider. "
        "The cost matrices share one colour range (the top 5% of costs saturate)."
        + ("" if timed[series] else " This series' target has no step in the forecast window: TDI is 0 by ties.")
    )


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
    show_replay(job)
    st.subheader("Any test series")
    series, predictions, epoch = pick_when_finished(job)
    if finished.is_shipped(job):
        links.write(series=str(series), map_gamma=str(gamma))
    else:
        finished.write_run_link(job, series=series, map_gamma=gamma)
    draw(series, predictions, epoch, live=False)
