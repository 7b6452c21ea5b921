"""Keep every page inside app.py's frame, including on a fresh server's very first run.

Streamlit runs a new server's first script run in its old directory mode when a `pages/`
folder lies beside the entry point (`PagesManager.uses_pages_directory`): a first visitor who
opens a page's link (`/data?...`) would get that page script alone, with a navigation listing
the page files and none of app.py's set-up. `st.navigation` in app.py turns that mode off for
good. Until it has run, a page runs the entry point in its place, within the same script run
(so a button press it carries is not lost), and app.py's navigation runs the page.
"""

import runpy

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx


def require_app_frame() -> None:
    """Call first in every page script: runs it inside app.py if Streamlit ran it alone."""
    if not PagesManager.uses_pages_directory:
        return
    runpy.run_path(str(get_script_run_ctx().pages_manager.main_script_path), run_name="__main__")
    st.stop()  # the page ran inside app.py's navigation: this bare run of it is over
