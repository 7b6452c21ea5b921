"""The run the Alignments and Results pages show: the session's own, or one of the trained runs
that ship with the app (a switch between them), and what a shared link of those pages offers to
someone whose tab has no run: the same configuration, trained here.

Runs stay private to the session that started them; a link carries the data and the settings
(`run_link`) or the name of a shipped run (`run`), never a session's run.
"""

import numpy as np
import streamlit as st

from dilate_lab.settings import SETTINGS
from dilate_lab.sources import SOURCES, data_settings
from explorer import keys, links, loaders, scoring, server, shipped
from explorer.jobs import FINAL_STATES
from explorer.widget_specs import widget_for

# The Train page's settings, as its form shows them (the losses across the form, where every chosen
# one's tag fits, then three columns), and as a run's link carries them.
TRAIN_ACROSS = ("losses",)
TRAIN_COLUMNS = (
    ("epochs", "batch_size", "lr", "patience"),
    ("alpha", "gamma", "eval_every", "mse_warmup"),
    ("model", "hidden", "select_on_validation"),
)
TRAIN_SETTINGS = TRAIN_ACROSS + tuple(name for names in TRAIN_COLUMNS for name in names)
# The paper trains with early stopping up to 1000 epochs (its published code: 500). At the app's
# default 100, DILATE's forecasts of the synthetic steps are partly flat (a quarter of them on the
# default data, seed 0) and worse than MSE's on DTW; a run shorter than this gets a word on it.
PAPER_EPOCHS = 500


def run_link(config) -> dict[str, str]:
    """The link's parameters that rebuild a run's data and settings (the Data and Train pages read them)."""
    source = SOURCES.get(config.dataset)
    data = {s.name: s.text(getattr(config, s.name)) for s in source.settings} if source else {}
    train = {name: SETTINGS[name].text(getattr(config, name)) for name in TRAIN_SETTINGS}
    return {"source": config.dataset, **data, **train}


def run_number(job) -> int:
    """The run's number in this session: a continued run keeps the number of the run it continues."""
    return st.session_state.get(keys.RUN_NUMBER) or job.id


def _linked_data():
    """(source name, values) of the data a link names, within this server's bounds; None if it names none."""
    name = st.query_params.get("source")
    source = SOURCES.get(name)
    if source is None or source.loader is None:  # an uploaded CSV cannot travel in a link
        return None
    values = {}
    for setting in source.settings:
        widget = widget_for(setting.name, name)
        default = widget.default if widget.default is not None else setting.default
        try:
            value = setting.parse(st.query_params[setting.name]) if setting.name in st.query_params else default
        except ValueError:
            value = default
        if widget.limit and isinstance(value, (int, float)):
            value = min(value, getattr(server.limits(), widget.limit))
        values[setting.name] = value
    return name, values


def offer_the_linked_configuration(page: str) -> None:
    """When this tab has no run and its link describes one: offer to train that configuration here."""
    linked = _linked_data()
    if linked is None:
        return
    name, values = linked
    settings = ", ".join(f"{n} {st.query_params[n]}" for n in TRAIN_SETTINGS if n in st.query_params)
    st.info(
        f"This link shows a run on **{SOURCES[name].label}** ({', '.join(f'{k} {v}' for k, v in values.items())})"
        f"{', trained with ' + settings if settings else ''}. Runs stay private to the tab that trains them: "
        f"train the same configuration here to see its {page}. Below, a run that ships with the app."
    )
    if st.button("Train this configuration", type="primary", key=f"{page}.train_linked"):
        dataset = loaders.dataset(name, tuple(sorted(values.items())))
        st.session_state[keys.DATA] = dataset
        st.session_state[keys.DATA_SETTINGS] = data_settings(name, dataset, values)
        st.session_state[keys.DATA_VERSION] = repr((name, sorted(values.items())))  # as the Data page writes it
        st.session_state[keys.START_FROM_LINK] = True
        st.switch_page("pages/train.py", query_params=dict(st.query_params))


OWN = "own"  # the run switch's value for this session's own run


def _choose_run(page: str, job) -> str:
    """The run switch: this session's own run (the default once it has one) or a shipped one. Returns
    OWN or a shipped run's name; the choice is kept across pages and in the link (`run`)."""
    names = shipped.names()
    options = ([OWN] if job is not None else []) + names
    own_id = None if job is None else job.id
    chosen = st.session_state.get(keys.VIEWED_RUN)
    if st.session_state.get(keys.VIEWED_FOR_JOB) != own_id:  # a new run of the visitor's own: show it
        chosen = None
    if chosen not in options:
        linked = links.read("run", "", choices=names)
        chosen = OWN if job is not None else (linked or (names[0] if names else None))
    if chosen is None:
        return OWN
    st.session_state[keys.VIEWED_RUN], st.session_state[keys.VIEWED_FOR_JOB] = chosen, own_id

    def remember() -> None:
        picked = st.session_state.get(f"{page}.run_switch")
        if picked is not None:  # clicking the selected option unselects it: keep the run shown
            st.session_state[keys.VIEWED_RUN] = picked

    def title(option: str) -> str:
        return f"Your run #{run_number(job)}" if option == OWN else shipped.run(option).title()

    if len(options) > 1:
        st.session_state[f"{page}.run_switch"] = chosen
        st.segmented_control("Run shown", options, format_func=title, key=f"{page}.run_switch", on_change=remember)
    return chosen


def current_run(page: str, live: bool = False):
    """The run a page shows: (trainer, dataset, job). This session's own run once finished (with
    `live`, the job itself while it runs), or a trained run that ships with the app, by the run
    switch; a shipped run is what a session without a run of its own sees."""
    job = server.current_job()
    if job is None:
        offer_the_linked_configuration(page)
    choice = _choose_run(page, job)
    if choice != OWN:
        view = shipped.run(choice)
        st.caption(view.packed.label())
        links.write(run=choice)
        return view.packed.trainer, view.packed.trainer.dataset, view
    if job is None:
        st.info("Train a run first: this page shows the run you train in this tab.")
        st.page_link("pages/train.py", label="Open Train", icon=":material/model_training:")
        st.stop()
    links.write(drop=("run",))
    if job.state not in FINAL_STATES:
        if live:
            return None, st.session_state.get(keys.RUN_DATASET), job
        st.info(f"Run #{run_number(job)} is training: this page shows it once it finishes or is stopped.")
        st.page_link("pages/train.py", label="Watch it on Train", icon=":material/model_training:")
        st.stop()
    if job.checkpoint is None:
        st.info("The last run failed before it trained: start another on Train.")
        st.page_link("pages/train.py", label="Open Train", icon=":material/model_training:")
        st.stop()
    dataset = st.session_state.get(keys.RUN_DATASET)
    return loaders.trained(job.id, job.epoch, job.checkpoint, dataset), dataset, job


def is_shipped(job) -> bool:
    """Whether a page shows a run that ships with the app (not this session's own)."""
    return isinstance(job, shipped.ShippedRun)


def scores(job, trainer, dataset) -> dict[str, dict[str, np.ndarray]]:
    """loss -> {'mse', 'dtw', 'tdi', 'flatness'} of every test series (n,) and 'pooled', computed
    once per run (explorer.scoring), behind a spinner the first time only."""
    if scoring.scored(job):
        return scoring.run_scores(job, trainer, dataset)
    with st.spinner("Scoring every test series (once per run)..."):
        return scoring.run_scores(job, trainer, dataset)


def write_run_link(job, **extra) -> None:
    """Put the run's data and settings (and the page's own values) into the link."""
    links.write(**(run_link(job.config) | {name: str(value) for name, value in extra.items()}))
