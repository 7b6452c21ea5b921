"""`python -m explorer.serve run app.py [streamlit run's options]`: `streamlit run`, with the
server's shared work begun before its first visit.

`streamlit run` imports nothing of the app until a visitor opens it, so the first visit of a
fresh server waited for the app's imports (torch, plotly, pandas: about 2.7 s here), for the
kernels to start compiling, and for the job pool. This process does all three first (the
kernels compile in the background, a page waits only for its own), then hands its arguments to
Streamlit's command line. The pages find the same compiler and pool: `st.cache_resource` keeps
them per process, made here or in a visit alike.
"""

import logging
import sys

# Streamlit warns of a missing script context when a cached function runs outside a visit.
CONTEXT_LOG = "streamlit.runtime.scriptrunner_utils.script_run_context"


def begin_the_servers_work() -> None:
    """Import what every first visit imports, and start the kernels' compiler and the job pool."""
    import pandas  # noqa: F401  (the Data page's tables; imported by Streamlit's dataframes too)
    import plotly.graph_objects  # noqa: F401

    from explorer import server

    context_log = logging.getLogger(CONTEXT_LOG)
    level = context_log.level
    context_log.setLevel(logging.ERROR)
    try:
        server.limits()  # a malformed setting first, before anything starts
        server.compiler()
        server.job_pool()
    finally:
        context_log.setLevel(level)


def main() -> None:
    if sys.argv[1:2] == ["run"]:  # not for `--help` or `version`
        try:
            begin_the_servers_work()
        except ValueError as error:  # a malformed DILATE_* setting: said before anyone visits
            sys.exit(f"Cannot start the server: {error}")
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
