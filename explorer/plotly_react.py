"""Plotly charts that are updated in place (`Plotly.react`) instead of drawn anew at every change.

`st.plotly_chart` derives its element's identity from the figure's JSON, so every changed figure
is a new element: the browser unmounts the old chart and draws the new one with `Plotly.newPlot`.
`plotly_chart` here mounts a small Streamlit component (`st.components.v2`) keyed by the chart's
key alone: its element stays, and its script (`plotly_react/plotly_react.js`) hands each new figure
to `Plotly.react`, which changes only what differs. A figure that did not change is not drawn
again. plotly.js is the one the `plotly` package ships (`plotly/package_data/plotly.min.js`),
served by the app's own server; nothing is fetched from elsewhere. The colours and fonts are those
Streamlit's plotly theme gives (light or dark), read from the theme the component receives.

`DILATE_PLOTLY_REACT=0` draws every chart with `st.plotly_chart` instead, as does a Streamlit
without `st.components.v2`.
"""

import os
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from streamlit.components.v1 import declare_component

ENV = "DILATE_PLOTLY_REACT"
SCRIPT = Path(__file__).with_name("plotly_react") / "plotly_react.js"
# plotly.js's folder in the plotly package, served as a (v1) component's files: the one route
# Streamlit offers for a folder's files without an installed package's manifest.
PLOTLY_JS_FOLDER = Path(plotly.__file__).parent / "package_data"
PLOTLY_JS = "plotly.min.js"


def enabled() -> bool:
    """Whether charts go through the component: on unless `DILATE_PLOTLY_REACT` is 0 (or off,
    false, no), and only where this Streamlit has `st.components.v2`."""
    if os.environ.get(ENV, "1").strip().lower() in {"0", "off", "false", "no"}:
        return False
    return hasattr(st.components, "v2") and hasattr(st.components.v2, "component")


@st.cache_resource(show_spinner=False)
def _component():
    """The component's mounting function, registered once per server (its script read then)."""
    return st.components.v2.component("dilate_plotly_react", js=SCRIPT.read_text(), isolate_styles=False)


def plotly_js_url() -> str:
    """Where this server serves plotly.min.js (under the app's base path, if it has one); the
    folder is registered on the server on the way."""
    served = declare_component("plotly_js", path=PLOTLY_JS_FOLDER)
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"{'/' + base if base else ''}/component/{served.name}/{PLOTLY_JS}"


def label_of(figure: go.Figure, alt: str | None) -> str:
    """The chart's accessible name: `alt`, else its title, else 'chart'."""
    title = figure.layout.title.text if figure.layout.title else None
    return alt or title or "chart"


def plotly_chart(where, figure: go.Figure, *, key: str, config: dict | None = None, alt: str | None = None) -> None:
    """Draw `figure` in the container `where` (an `st` container, column or `st.empty()`), as the
    chart of `key`: updated in place from one run to the next. Falls back to `st.plotly_chart`
    (with the same key, config and alt) when the component is off or cannot be registered."""
    if enabled():
        try:
            mount = _component()
        except Exception:  # a Streamlit whose components v2 refuse this one: the pages still draw
            mount = None
        if mount is not None:
            data = {
                "figure": pio.to_json(figure, validate=False),
                "config": config or {},
                "label": label_of(figure, alt),
                "plotly": plotly_js_url(),
            }
            with where:
                mount(key=key, data=data)
            return
    where.plotly_chart(figure, key=key, config=config, alt=alt)
