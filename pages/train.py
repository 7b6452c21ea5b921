"""Train: three forecasters side by side (MSE, soft-DTW, DILATE), live."""

import time

import numpy as np
import streamlit as st

from dilate_core.model import MODELS
from dilate_core.train import LOSSES, preview_indices
from explorer import charts, runs, state
from explorer.jobs import FINAL_STATES, QUEUED, RUNNING, LimitError

RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
GAMMAS = state.GAMMA_CHOICES
HIDDEN = [16, 32, 64, 128, 256]

st.title("Train")
dataset = st.session_state.get(state.DATA_KEY)
if dataset is None:
    st.info("There is no data yet: make or load some first.")
    st.page_link("pages/data.py", label="Open Data", icon=":material/dataset:")
    st.stop()

pool = state.job_pool()
bounds = state.limits()
hidden_options = [h for h in HIDDEN if h <= bounds.max_hidden] or [bounds.max_hidden]
job = state.current_job()
busy = job is not None and job.state not in FINAL_STATES

with st.form("train.settings"):
    left, middle, right = st.columns(3)
    q = state.query_value
    with left:
        epochs = st.number_input(
            "Epochs",
            1,
            bounds.max_epochs,
            q("epochs", min(100, bounds.max_epochs), 1, bounds.max_epochs),
            key="train.epochs",
            help="Passes over the training set (the paper: up to 500).",
        )
        batch_size = st.slider(
            "Batch size",
            8,
            500,
            q("batch", 100, 8, 500),
            key="train.batch_size",
            help="Series per gradient step (the paper: 100).",
        )
        learning_rate = st.select_slider(
            "Learning rate",
            RATES,
            q("lr", 1e-3, choices=RATES),
            key="train.lr",
            help="Adam's step size (the paper: 0.001).",
        )
    with middle:
        alpha = st.slider(
            "alpha",
            0.0,
            1.0,
            q("alpha", 0.5, 0.0, 1.0),
            0.05,
            key="train.alpha",
            help="DILATE's weight of the shape term; 1 - alpha weighs the temporal term (the paper: 0.5).",
        )
        gamma = st.select_slider(
            "gamma",
            GAMMAS,
            q("gamma", 0.01, choices=GAMMAS),
            key="train.gamma",
            help="soft-DTW's smoothing temperature (the paper: 0.01).",
        )
        eval_every = st.slider(
            "Evaluate every k epochs",
            1,
            50,
            q("eval_every", 5, 1, 50),
            key="train.eval_every",
            help="How often the test metrics and forecasts are computed and drawn.",
        )
    with right:
        model = st.radio(
            "Model",
            MODELS,
            MODELS.index(q("model", "seq2seq", choices=MODELS)),
            key="train.model",
            help="The paper's GRU Seq2Seq, or an MLP.",
        )
        hidden = st.select_slider(
            "Hidden units",
            hidden_options,
            q("hidden", max(h for h in hidden_options if h <= 128), choices=hidden_options),
            key="train.hidden",
            help="Width of the GRU or of the MLP's hidden layer (the paper: 128).",
        )
        divergence = st.checkbox(
            "Also train with the soft-DTW divergence",
            q("divergence", 0, 0, 1) == 1,
            key="train.divergence",
            help="A fourth model, trained with sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2 (Blondel et al. 2021).",
        )
        select_best = st.checkbox(
            "Keep each model's best validation weights",
            q("best", 0, 0, 1) == 1,
            key="train.select_best",
            help=(
                "The paper's early stopping: at each evaluation every model's loss on a validation split "
                "(the synthetic data's own, else the last fifth of the training windows) is measured, and "
                "Results and Alignments use the weights of its lowest one."
            ),
        )
    start = st.form_submit_button("Start training", type="primary", disabled=busy)

if start:
    config = runs.config_for(
        dataset,
        epochs=int(epochs),
        batch_size=batch_size,
        lr=learning_rate,
        alpha=alpha,
        gamma=gamma,
        eval_every=eval_every,
        model=model,
        hidden=hidden,
        losses=(*LOSSES, "sdtw_div") if divergence else LOSSES,
        select_on_validation=select_best,
    )
    try:
        job = pool.submit(state.owner(), config, dataset, int(epochs))
    except LimitError as error:
        st.error(str(error))
        st.stop()
    state.set_query(
        epochs=int(epochs),
        batch=batch_size,
        lr=learning_rate,
        alpha=alpha,
        gamma=gamma,
        eval_every=eval_every,
        model=model,
        hidden=hidden,
        divergence=int(divergence),
        best=int(select_best),
    )
    st.session_state[state.JOB_KEY] = job.id
    st.session_state["train.history"] = []
    st.session_state["train.data_version"] = st.session_state.get(state.VERSION_KEY)
    st.session_state["train.dataset"] = dataset  # the run keeps its data even if Data changes
    st.rerun()

if job is None:
    st.info("Choose the settings and press **Start training**: three models, one per loss, train side by side.")
    st.stop()
if st.session_state.get("train.data_version") != st.session_state.get(state.VERSION_KEY):
    st.warning("The data changed since this run was trained; its charts use the data it was trained on.")


def draw(job) -> None:
    """Status, progress and the live charts of a job."""
    run_dataset = st.session_state.get("train.dataset", dataset)
    reports = runs.history(st.session_state.get("train.history", []), job)
    total = job.start_epoch + job.epochs
    if job.state == QUEUED:
        st.info(f"Waiting for a free worker: your run is number {pool.place_in_queue(job)} in the queue.")
    elif job.state == RUNNING:
        left = job.seconds_left()
        eta = f", about {left:.0f} s left" if left is not None else ""
        st.progress(min(1.0, job.epoch / total), text=f"Epoch {job.epoch} of {total}{eta}")
    elif job.error:
        st.error(f"The run failed: {job.error}")
    else:
        st.success(f"Run #{job.id} {job.state} after {job.epoch} epochs.")
    if not reports:
        return
    st.plotly_chart(charts.training_curves(reports))
    validated = [r for r in reports if r.get("val")]
    if validated:
        best = {name: min(validated, key=lambda r: r["val"][name])["epoch"] for name in validated[-1]["val"]}
        st.caption(
            f"Lowest validation loss so far at epoch: {runs.epochs_by_loss(best)}. "
            "Results and Alignments use those weights."
        )
    st.plotly_chart(charts.metric_curves(reports))
    last = next((r for r in reversed(reports) if r.get("previews")), None)
    if last is not None:
        st.markdown(f"**Forecasts on fixed test series** (epoch {last['epoch']})")
        index = preview_indices(len(run_dataset.test_x), job.config.n_preview)
        columns = st.columns(min(3, len(index)))
        for column, k, i in zip(columns, range(len(index)), index, strict=False):
            predictions = {name: np.asarray(p)[k] for name, p in last["previews"].items()}
            breaks = run_dataset.test_breaks[i] if run_dataset.test_breaks is not None else None
            column.plotly_chart(
                charts.forecast(run_dataset.test_x[i], run_dataset.test_y[i], predictions, breaks, f"test series {i}")
            )


if job.state in FINAL_STATES:
    draw(job)
    if job.checkpoint is not None:
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
                    state.owner(),
                    job.config,
                    st.session_state.get("train.dataset", dataset),
                    int(more),
                    checkpoint=job.checkpoint,
                    start_epoch=job.epoch,
                )
            except LimitError as error:
                st.error(str(error))
                st.stop()
            st.session_state["train.history"] = runs.history(st.session_state.get("train.history", []), job)
            st.session_state[state.JOB_KEY] = continued.id
            st.rerun()
else:

    @st.fragment(run_every=1.0)
    def live() -> None:
        current = state.current_job()
        if st.button(
            "Stop training", key="train.stop", help="Stops after the current epoch and keeps what was learned."
        ):
            pool.stop(state.owner(), current.id)
            time.sleep(0.2)
        draw(current)
        if current.state in FINAL_STATES:
            st.rerun()  # the whole page: its form and the Continue button

    live()
