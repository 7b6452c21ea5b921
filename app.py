"""DILATE Explorer: the frame. Page config, shared sidebar, session defaults, navigation."""

import streamlit as st

from explorer import finished, keys, server
from explorer.jobs import FINAL_STATES

RUN_STATUS_REFRESH_S = 2.0  # how often the sidebar's status looks at a run that trains

# The kernel groups (explorer.kernel_plan.KERNEL_GROUPS) each page calls, compiled first when it is opened;
# the page waits for them where it first calls them, and pages not listed never wait.
PAGE_KERNELS = {
    "Overview": ("scores",),
    "Loss playground": ("scores", "gradients", "alignments"),
    "Train": ("training",),
    "Alignments": ("scores", "alignments"),
    "Results": ("scores",),
}


def main() -> None:
    st.set_page_config(page_title="DILATE Explorer", page_icon=":material/show_chart:", layout="wide")
    keys.set_defaults(st.session_state)
    server.owner()  # registers the session, so its jobs stop when it ends

    pages = [
        st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
        st.Page("pages/playground.py", title="Loss playground", icon=":material/tune:"),
        st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/alignments.py", title="Alignments", icon=":material/grid_on:"),
        st.Page("pages/results.py", title="Results", icon=":material/table_chart:"),
        st.Page("pages/paper.py", title="Paper", icon=":material/article:"),
    ]
    navigation = st.navigation(pages)
    server.compiler().want(PAGE_KERNELS.get(navigation.title, ()))
    status = st.sidebar.container()
    try:
        navigation.run()
    finally:  # after the page, even one that stopped early: the status says what the page just did
        with status:
            sidebar_status()


def sidebar_status() -> None:
    """The data this session loaded and its run; while the run trains, refreshed on its own."""
    dataset = st.session_state.get(keys.DATA)
    if dataset is None:
        st.caption("No data yet: open **Data**.")
    else:
        st.caption(
            f"**Data**: {dataset.name}, {len(dataset.train_x)} train / {len(dataset.test_x)} test, "
            f"{dataset.n_input} → {dataset.n_output} steps"
        )
    job = server.current_job()
    if job is None:
        return
    if job.state in FINAL_STATES:
        run_status(job)
    else:
        st.fragment(run_every=RUN_STATUS_REFRESH_S)(lambda: run_status(server.current_job()))()


def run_status(job) -> None:
    st.caption(f"**Run** #{finished.run_number(job)}: {job.state}, epoch {job.epoch}")


# Streamlit runs this script as __main__. A worker process spawned while a session's script runs
# can find this script in sys.modules["__main__"] (Streamlit puts it there for the run) and import
# it first, as __mp_main__: it must then do nothing, or the worker dies before its job.
if __name__ == "__main__":
    main()
