"""The current session's finished run, as the Alignments and Results pages need it."""

import streamlit as st

from explorer import keys, loaders, server
from explorer.jobs import FINAL_STATES


def finished_run():
    """(trainer, dataset) of this session's last finished or stopped run, or stop the page with a hint."""
    job = server.current_job()
    if job is None or job.state not in FINAL_STATES or job.checkpoint is None:
        running = job is not None and job.state not in FINAL_STATES
        st.info("Wait for the run to finish or stop it first." if running else "Train a run first.")
        st.page_link("pages/train.py", label="Open Train", icon=":material/model_training:")
        st.stop()
    dataset = st.session_state.get(keys.RUN_DATASET)
    return loaders.trained(job.id, job.epoch, job.checkpoint, dataset), dataset, job
