"""Settings in the page's link (URL query parameters), so a view can be shared by its URL.

A missing or malformed value gives the default, and a value out of bounds is clipped with a
visible warning: a shared link never breaks a page.
"""

import math

import streamlit as st


def read(name: str, default, low=None, high=None, choices=None):
    """The link's value of `name`, cast like `default`, kept among `choices` or within [low, high]."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        value = type(default)(raw)
    except (TypeError, ValueError):
        return default
    if choices is not None:
        return value if value in choices else default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return default
        bounded = min(max(value, low if low is not None else value), high if high is not None else value)
        if bounded != value:
            st.warning(f"The link asks for {name} = {raw}; this server allows {low} to {high}, so {bounded} is used.")
        value = bounded
    return value


def write(drop: tuple[str, ...] = (), **values) -> None:
    """Put settings into the link (as text); remove the names in `drop` that are not given."""
    for name in drop:
        if name in st.query_params and name not in values:
            del st.query_params[name]
    for name, value in values.items():
        text = str(value)
        if st.query_params.get(name) != text:
            st.query_params[name] = text
