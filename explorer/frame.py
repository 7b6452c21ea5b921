"""Keep every page inside app.py's frame, including on a fresh server's very first run.

Streamlit runs a new server's first script run in its old directory mode when a `pages/`
folder lies beside the entry point (`PagesManager.uses_pages_directory`): a first visitor who
opens a page's link (`/data?...`) would get that page script alone, with a navigation listing
the page files and none of app.py's set-up. `st.navigation` in app.py turns that mode off for
good; until it has run once, a page reruns itself, and the rerun goes through app.py.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_app_frame() -> None:
    """Call first in every page script: reruns it through app.py if Streamlit ran it alone."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what app.py's st.navigation would set
        st.rerun()  # the same page, now resolved by app.py's navigation
