"""Session-state keys shared by the pages, one named constant each, set up once by app.py.

Shared values live in these plain keys, never only in widget keys: Streamlit drops a widget's
value when its page is not shown.
"""

DATA = "data.dataset"  # the Dataset the Data page loaded
DATA_SETTINGS = "data.settings"  # the Config fields that rebuild it (dataset, n_input, ...)
DATA_VERSION = "data.version"  # changes whenever the Data page loads other data
JOB = "train.job_id"  # this session's current training job
RUN_HISTORY = "train.history"  # reports of the runs the current job continues
RUN_DATASET = "train.dataset"  # the data the current run trains on, whatever Data shows now
RUN_DATA_VERSION = "train.data_version"  # DATA_VERSION when the run started
LIVE_FIGURES = "train.figures"  # {"frame", "reports", "figures"}: the Train page's figures and what they were built for
RUN_NUMBER = "train.run_number"  # the run's number in this session (Continue keeps it)
START_FROM_LINK = "train.start_from_link"  # a shared link's "Train this configuration": start on arrival
PAPER_RERUN = "paper.rerun"  # the Paper page's small version: its configs, jobs and progress
VIEWED_RUN = "runs.viewed"  # the run Alignments and Results show: "own" or a shipped run's name
VIEWED_FOR_JOB = "runs.viewed_for_job"  # the own job id when that choice was made (a new run resets it)

_DEFAULTS = {
    DATA: None,
    DATA_SETTINGS: None,
    DATA_VERSION: None,
    JOB: None,
    RUN_HISTORY: (),
    RUN_DATASET: None,
    RUN_DATA_VERSION: None,
    RUN_NUMBER: None,
    START_FROM_LINK: False,
    PAPER_RERUN: None,
    VIEWED_RUN: None,
    VIEWED_FOR_JOB: None,
}


def set_defaults(session_state) -> None:
    """Give every shared key its default once per session (app.py, before any page runs)."""
    for key, value in _DEFAULTS.items():
        session_state.setdefault(key, value)
