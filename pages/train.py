"""Train: three forecasters side by side (MSE, soft-DTW, DILATE), live."""

import time

import numpy as np
import streamlit as st

from dilate_core.metrics import FLAT_FRACTION, pooled_flatness
from dilate_lab import paper
from dilate_lab.settings import LOSS_LABELS, SETTINGS
from dilate_lab.sources import SOURCES
from dilate_lab.train import Config, epochs_text, preview_indices
from explorer import charts, cost, finished, keys, links, loaders, server
from explorer.frame import require_app_frame
from explorer.jobs import DONE, FINAL_STATES, QUEUED, RUNNING
from explorer.limits import LimitError
from explorer.widget_specs import PAPER_EPOCHS, PAPER_SETTINGS, widget_for
from explorer.widgets import offered, setting_input, starting_values

require_app_frame()

LIVE_REFRESH_S = 1.0  # how often the live view of a run looks for new reports
FIRST_REPORT_WAIT_S = 0.75  # how long one look waits for the first report of a run handed to a worker
MADE_HERE = "train.data_made_here"  # DATA_VERSION of the data this page made for a tab that had none
PAPER_HELP = (
    "Table 1's settings: the three losses on the GRU Seq2Seq of 128 hidden units, alpha 0.5, gamma 0.01, "
    f"Adam at 0.001 on batches of 100, up to {PAPER_EPOCHS} epochs keeping each model's best validation weights."
)


def made_here_text(data_settings: dict) -> str:
    """What this page loaded for a tab that had no data, setting by setting, as the Data page names them."""
    source = SOURCES[data_settings["dataset"]]
    named = ", ".join(
        f"{widget_for(s.name, source.name).label.lower()} {data_settings[s.name]}" for s in source.settings
    )
    return f"This tab had no data yet, so Train loaded **{source.label}** ({named}). The Data page changes it."


def short_run_text(data_source: str) -> str | None:
    """Why a run shorter than the paper's may not show DILATE's effect, for the data it trains on."""
    if data_source == "synthetic":
        return (
            f"The paper trains up to {PAPER_EPOCHS} epochs with early stopping (its published code: "
            f"{finished.PAPER_EPOCHS}). With fewer, DILATE's forecasts of the synthetic steps may still be partly flat "
            "and worse than MSE's on DTW (they are at the default 100). The Paper page scores the committed runs of up "
            f"to {PAPER_EPOCHS} epochs (10 seeds), where DILATE's effect shows."
        )
    if data_source == "ecg5000":
        return (
            f"The paper trains up to {PAPER_EPOCHS} epochs with early stopping (its published code: "
            f"{finished.PAPER_EPOCHS}); a shorter run's heartbeats may still be flat or late. The Paper page scores "
            f"the committed ECG5000 runs of up to {PAPER_EPOCHS} epochs (10 seeds)."
        )
    return None  # the paper has no runs on this data to point to


def papers_settings_text(epochs: int, duration: str | None) -> str:
    """The form holds the paper's settings: say so, what they cost here, and the server's cap on epochs."""
    text = f"These are the paper's settings. {duration or ''}".rstrip()
    if epochs < PAPER_EPOCHS:
        text += (
            f" This server allows at most {epochs} epochs a run (its DILATE_MAX_EPOCHS), so the form holds "
            f"{epochs} instead of the paper's {PAPER_EPOCHS}."
        )
    return text


st.title("Train")
bounds = server.limits()
dataset = st.session_state.get(keys.DATA)
if dataset is None:  # a new tab: the data its link names (a shared run's), else the Data page's defaults
    source, chosen = finished._linked_data() or ("synthetic", starting_values("synthetic", bounds))
    dataset = loaders.make_current(source, chosen)
    st.session_state[MADE_HERE] = st.session_state[keys.DATA_VERSION]

pool = server.job_pool()
job = server.current_job()
if job is None and st.session_state.get(MADE_HERE) == st.session_state.get(keys.DATA_VERSION):
    st.info(made_here_text(st.session_state[keys.DATA_SETTINGS]))
    st.page_link("pages/data.py", label="Change the data on Data", icon=":material/dataset:")


def use_the_papers_settings() -> None:
    """The Paper settings button: the form's widgets take the paper's values (those this server offers)."""
    for name, value in PAPER_SETTINGS.items():
        offered_value = offered(SETTINGS[name], value, bounds)
        st.session_state[f"train.{name}"] = list(offered_value) if isinstance(offered_value, tuple) else offered_value


@st.fragment
def settings_form() -> None:
    """The run's settings, what they cost here, and Start. A fragment: a changed setting redraws only
    this part, with its expected duration, and leaves a live run's charts alone."""
    current = server.current_job()
    busy = current is not None and current.state not in FINAL_STATES
    with st.container(border=True):
        st.button(
            "The paper's settings",
            key="train.paper",
            icon=":material/article:",
            on_click=use_the_papers_settings,
            help=PAPER_HELP,
        )
        values = {name: setting_input(SETTINGS[name], "train", bounds) for name in finished.TRAIN_ACROSS}
        for column, names in zip(st.columns(len(finished.TRAIN_COLUMNS)), finished.TRAIN_COLUMNS, strict=True):
            with column:
                for name in names:
                    values[name] = setting_input(SETTINGS[name], "train", bounds)
    data_source = (st.session_state.get(keys.DATA_SETTINGS) or {}).get("dataset", "")
    warning = paper.flat_start_warning(data_source, values["gamma"], values["losses"], values["mse_warmup"])
    if warning:
        st.caption(warning)
    short = short_run_text(data_source) if values["epochs"] < finished.PAPER_EPOCHS else None
    if short:
        st.caption(short)
    duration = server.expected_duration(values, dataset)  # before Start: the run's size is its cost
    if values == {name: offered(SETTINGS[name], v, bounds) for name, v in PAPER_SETTINGS.items()}:
        st.caption(papers_settings_text(values["epochs"], duration))
    elif duration:
        st.caption(duration)
    start = st.button("Start training", type="primary", disabled=busy, key="train.start")
    # "Train this configuration" on a shared link's page: the form holds the link's settings, start them
    start = start or (st.session_state.pop(keys.START_FROM_LINK, False) and not busy)
    if start:
        start_training(values)


def start_training(values: dict) -> None:
    """Submit a run of these settings on the session's data, or say why it cannot start."""
    if not values["losses"]:
        st.error("Choose at least one loss to train with.")
        return
    try:
        config = Config(**(st.session_state.get(keys.DATA_SETTINGS) | values))
        started = pool.submit(server.owner(), config, dataset, config.epochs)
    except ValueError as error:  # a setting the others rule out, or a LimitError: a message, no traceback
        st.error(str(error))
        return
    links.write(**finished.run_link(config))
    st.session_state[keys.JOB] = started.id
    st.session_state[keys.RUN_NUMBER] = (st.session_state.get(keys.RUN_NUMBER) or 0) + 1
    st.session_state[keys.RUN_HISTORY] = ()
    st.session_state[keys.RUN_DATA_VERSION] = st.session_state.get(keys.DATA_VERSION)
    st.session_state[keys.RUN_DATASET] = dataset  # the run keeps its data even if Data changes
    st.rerun()  # the whole page: its live view


settings_form()
if job is None:
    st.info("Choose the settings and press **Start training**: three models, one per loss, train side by side.")
    st.stop()
if st.session_state.get(keys.RUN_DATA_VERSION) != st.session_state.get(keys.DATA_VERSION):
    st.warning("The data changed since this run was trained; its charts use the data it was trained on.")


def live_figures(job, reports: list[dict], run_dataset) -> dict:
    """The Train page's figures for these reports. The live view redraws every second, and
    building plotly figures is most of a redraw's work: each figure is built once per run and
    then only refilled with new data, and not even that while no epoch ended."""
    evaluated = next((r for r in reports if r.get("test")), None)
    last = next((r for r in reversed(reports) if r.get("previews")), None)
    names = charts.trained_models(reports)
    frame = (job.id, tuple(names), tuple(evaluated["test"]) if evaluated else (), last is not None)
    cached = st.session_state.get(keys.LIVE_FIGURES)
    if cached is not None and cached["frame"] == frame:
        figures = cached["figures"]
        if cached["reports"] == len(reports):
            return figures
        for figure in (*figures["training"].values(), *figures["metrics"].values()):
            charts.refill_curves(figure, reports)
    else:
        figures = {
            "training": {name: charts.training_curve(reports, name) for name in names},
            "metrics": {metric: charts.metric_curve(reports, metric, job.config.dataset) for metric in charts.METRICS},
            "forecasts": [],
        }
    if last is not None and figures.get("previews_epoch") != last["epoch"]:
        figures["previews_epoch"] = last["epoch"]
        index = preview_indices(len(run_dataset.test_x), job.config.n_preview)
        figures["flatness"] = {
            name: pooled_flatness(np.asarray(p), run_dataset.test_y[index]) for name, p in last["previews"].items()
        }
        for k, i in enumerate(index[:3]):  # three columns
            predictions = {name: np.asarray(p)[k] for name, p in last["previews"].items()}
            if k < len(figures["forecasts"]) and charts.refill_forecast(figures["forecasts"][k], predictions):
                continue
            breaks = run_dataset.test_breaks[i] if run_dataset.test_breaks is not None else None
            title = f"test series {i}"
            figure = charts.forecast(run_dataset.test_x[i], run_dataset.test_y[i], predictions, breaks, title)
            figures["forecasts"][k : k + 1] = [figure]
    st.session_state[keys.LIVE_FIGURES] = {"frame": frame, "reports": len(reports), "figures": figures}
    return figures


def untrained_tdi_text(reports: list[dict], dataset: str, model: str) -> str | None:
    """Why every TDI curve starts low, with the untrained models' TDI (None without epoch 0's scores)."""
    start = next((r for r in reports if r["epoch"] == 0 and r.get("test")), None)
    if start is None:
        return None
    scale = paper.scales(dataset)["tdi"]
    tdi = {LOSS_LABELS[name]: f"{scores['tdi'] * scale:.3g}" for name, scores in start["test"].items()}
    if len(set(tdi.values())) == 1:  # the models start from the same weights
        values = f"{next(iter(tdi.values()))} for every model"
    else:
        values = ", ".join(f"{label} {value}" for label, value in tdi.items())
    trained = [mean for (metric, _), (mean, _) in paper.table1(dataset, model).items() if metric == "tdi"]
    beside = f" beside the paper's trained models' {min(trained):.3g} to {max(trained):.3g}" if trained else ""
    return (
        f"Untrained (epoch 0), TDI ×{scale:g} is {values}: near 0{beside}, and not because the timing is right. An "
        "untrained model's forecast is nearly flat, and against a flat forecast every step of a target's row costs "
        "the same: the cheapest DTW path is then the diagonal (any other path pays some row twice), whose TDI is 0 "
        "whatever the timing. TDI judges timing only once the forecasts take a shape."
    )


def charts_in_columns(figures) -> None:
    """Figures side by side; Streamlit stacks the columns on a narrow screen."""
    for column, figure in zip(st.columns(len(figures)), figures, strict=True):
        column.plotly_chart(figure)


def draw(job) -> None:
    """Status, progress and the live charts of a job."""
    run_dataset = st.session_state.get(keys.RUN_DATASET)
    reports = [*st.session_state.get(keys.RUN_HISTORY, ()), *job.reports]
    total = job.start_epoch + job.epochs
    place = pool.place_in_queue(job) if job.state == QUEUED else 0
    if place:
        wait = cost.duration_text(pool.expected_wait(job) or 0)
        st.info(f"Waiting for a free worker: your run is number {place} in the queue, about {wait} to wait.")
    elif job.state == QUEUED:  # handed to a worker that has not said it started yet
        st.info("Starting your run in a worker...")
    elif job.state == RUNNING:
        left = job.seconds_left()
        eta = f", about {left:.0f} s left" if left is not None else ""
        st.progress(min(1.0, job.epoch / total), text=f"Epoch {job.epoch} of {total}{eta}")
    elif job.error:
        st.error(f"The run failed: {job.error}")
        if job.traceback:
            with st.expander("Details (the worker's traceback)"):
                st.code(job.traceback, language="text")
    else:
        early = " (every model stopped early)" if job.epoch < total and job.state == DONE else ""
        budget = f", at the {cost.duration_text(job.budget_s)} a run may take here" if job.over_budget else ""
        st.success(f"Run #{finished.run_number(job)} {job.state} after {job.epoch} epochs{early}{budget}.")
    if not reports:
        return
    figures = live_figures(job, reports, run_dataset)
    if figures["training"]:
        st.markdown("**Training loss of each model** (each loss has its own scale)")
        charts_in_columns(list(figures["training"].values()))
    validated = [r for r in reports if r.get("val")]
    if validated:
        best = {name: min(validated, key=lambda r: r["val"][name])["epoch"] for name in validated[-1]["val"]}
        st.caption(
            f"Lowest validation loss so far at epoch: {epochs_text(best)}. Results and Alignments use those weights."
        )
    stopped = {name: r["epoch"] for r in reports for name in r.get("stopped", ())}
    if stopped:
        st.caption(
            f"Stopped early (no lower validation loss for {job.config.patience} "
            f"evaluation{'s' if job.config.patience > 1 else ''}) at epoch: "
            f"{epochs_text(stopped)}; their curves end there and they keep their best weights."
        )
    st.markdown(f"**Test metrics** at the paper's scale ({paper.scale_caption(job.config.dataset)})")
    if any(r.get("test") for r in reports):
        charts_in_columns(list(figures["metrics"].values()))
        untrained = untrained_tdi_text(reports, job.config.dataset, job.config.model)
        if untrained:
            st.caption(untrained)
    elif job.state not in FINAL_STATES:  # epoch 0's forecasts come first, its scores a moment later
        st.caption(f"Scoring the untrained models on the {len(run_dataset.test_x)} test series...")
    flat = [name for name, value in figures.get("flatness", {}).items() if value < FLAT_FRACTION]
    if flat:
        st.warning(
            f"The forecasts of {', '.join(LOSS_LABELS[n] for n in flat)} are flat so far (on the series below, they "
            f"move less than {FLAT_FRACTION:.0%} as much as the targets): a flat forecast has no timing to judge, "
            "its TDI (mostly near 0) comes from ties in the DTW path and says nothing of timing."
        )
    if figures["forecasts"]:
        st.markdown(f"**Forecasts on fixed test series** (epoch {figures['previews_epoch']})")
        columns = st.columns(min(3, len(figures["forecasts"])))
        for column, figure in zip(columns, figures["forecasts"], strict=False):
            column.plotly_chart(figure)


if job.state in FINAL_STATES:
    draw(job)
    if job.checkpoint is not None:
        st.markdown("**Next**: see how each model aligns its forecasts with the targets, and its scores.")
        left, right = st.columns(2)
        link = finished.run_link(job.config)
        left.page_link("pages/alignments.py", label="Alignments", icon=":material/grid_on:", query_params=link)
        right.page_link("pages/results.py", label="Results", icon=":material/table_chart:", query_params=link)
        more = st.number_input(
            "More epochs",
            1,
            bounds.max_epochs,
            min(50, bounds.max_epochs),
            key="train.more",
            help="Continue this run from where it is.",
        )
        if st.button("Continue training", key="train.continue"):
            try:
                continued = pool.submit(
                    server.owner(),
                    job.config,
                    st.session_state.get(keys.RUN_DATASET),
                    int(more),
                    checkpoint=job.checkpoint,
                    start_epoch=job.epoch,
                )
            except LimitError as error:
                st.error(str(error))
                st.stop()
            st.session_state[keys.RUN_HISTORY] = (*st.session_state.get(keys.RUN_HISTORY, ()), *job.reports)
            st.session_state[keys.JOB] = continued.id
            st.rerun()
else:
    # Once a second, from Start to the end; while a run handed to a worker has not reported yet,
    # a look also waits for it (after drawing the Stop button), so that the first chart shows as
    # soon as the worker's first report is in. Each look is a rerun, and Streamlit starts a new
    # script thread for it on the server's event loop, which waits for that thread to run: with 8
    # sessions training, those waits were most of the event loop's time in websocket handlers
    # (up to 180 ms each), so looks are not more frequent than an epoch needs.
    # One rate for the whole run, so no full rerun while it trains: a full rerun replaces the
    # fragment, and a tick of the one it replaced then reaches the server, which drops it
    # (Streamlit logs "The fragment ... does not exist anymore"); under load a page then stopped
    # refreshing for good, at its epoch 0.
    @st.fragment(run_every=LIVE_REFRESH_S)
    def live() -> None:
        current = server.current_job()
        if st.button(
            "Stop training", key="train.stop", help="Stops after the current epoch and keeps what was learned."
        ):
            pool.stop(server.owner(), current.id)
            time.sleep(0.2)
        waited = 0.0
        continued = bool(st.session_state.get(keys.RUN_HISTORY))  # its charts are drawn at once: no wait
        while not continued and waited < FIRST_REPORT_WAIT_S and pool.awaiting_first_report(current):
            time.sleep(0.05)
            waited += 0.05
            current = server.current_job()
        draw(current)
        if current.state in FINAL_STATES:
            st.rerun()  # the whole page: its form and the Continue button

    live()
