"""A setting's widget, built from its registry entry, starting from the page's link."""

import streamlit as st

from dilate_lab.settings import LOSS_LABELS, Setting
from dilate_lab.sources import SOURCES
from explorer import links
from explorer.limits import Limits
from explorer.widget_specs import Widget, widget_for


def _start(setting: Setting, widget: Widget):
    """Where the widget starts without a link: the app's own start value, else the setting's default."""
    return widget.default if widget.default is not None else setting.default


def _range(setting: Setting, widget: Widget, bounds: Limits) -> tuple:
    """(low, high, start) of a numeric widget: the widget's range within the setting's and the server's."""
    high = widget.high if widget.high is not None else setting.high
    if widget.limit:
        high = min(high, getattr(bounds, widget.limit))
    low = min(widget.low if widget.low is not None else setting.low, high)
    start = _start(setting, widget)
    cast = setting.kind
    return cast(low), cast(high), cast(min(max(start, low), high))


def _options(setting: Setting, widget: Widget, bounds: Limits) -> tuple[list, object]:
    """(options, start) of a choice widget, the options capped by the server's limit."""
    options = list(widget.options or setting.choices)
    if widget.limit:
        cap = getattr(bounds, widget.limit)
        options = [option for option in options if option <= cap] or [cap]
    start = _start(setting, widget)
    if setting.kind is not tuple and start not in options:  # a default over the server's limit: the most below it
        start = max((o for o in options if o <= start), default=options[0])
    return options, start


def _from_link(setting: Setting, start, use_link: bool):
    """The link's value of a list or text setting, or `start` when absent or malformed."""
    raw = st.query_params.get(setting.name) if use_link else None
    if raw is None:
        return start
    try:
        return setting.parse(raw)
    except ValueError:
        return start


def setting_input(setting: Setting, page: str, bounds: Limits, use_link: bool = True, source: str | None = None):
    """Show the setting's widget (key '<page>.<name>'; as data source `source` offers it, when given)
    and return its value; see `explorer.widget_specs`.

    It starts from the link's value unless `use_link` is False (e.g. a link made for another data source).
    """
    widget, key = widget_for(setting.name, source), f"{page}.{setting.name}"
    read = links.read if use_link else lambda name, start, *args, **kwargs: start
    label, help_text = widget.label, widget.help or setting.help
    if widget.kind in ("slider", "number"):
        low, high, start = _range(setting, widget, bounds)
        value = read(setting.name, start, low, high)
        if widget.kind == "number":
            return st.number_input(label, low, high, value, key=key, help=help_text)
        step = setting.kind(widget.step) if widget.step is not None else None
        return st.slider(label, low, high, value, step, key=key, help=help_text, format=widget.format)
    if widget.kind == "checkbox":
        start = _start(setting, widget)
        return st.checkbox(label, read(setting.name, int(start), 0, 1) == 1, key=key, help=help_text)
    options, start = _options(setting, widget, bounds)
    if widget.kind == "multiselect":
        chosen = _from_link(setting, start, use_link)
        return tuple(st.multiselect(label, options, list(chosen), format_func=LOSS_LABELS.get, key=key, help=help_text))
    value = _from_link(setting, start, use_link) if setting.kind is str else read(setting.name, start, choices=options)
    value = value if value in options else start
    if widget.kind == "select_slider":
        return st.select_slider(label, options, value, key=key, help=help_text)
    if widget.kind == "radio":
        return st.radio(label, options, options.index(value), key=key, help=help_text)
    return st.selectbox(label, options, options.index(value), key=key, help=help_text)


def offered(setting: Setting, value, bounds: Limits, source: str | None = None):
    """`value` as the setting's widget can hold it on this server: a number clipped to the widget's
    range, a choice among its options (else the largest one below it, as a default over a limit is)."""
    widget = widget_for(setting.name, source)
    if widget.kind in ("slider", "number"):
        low, high, _ = _range(setting, widget, bounds)
        return setting.kind(min(max(value, low), high))
    if widget.kind == "checkbox":
        return bool(value)
    options, start = _options(setting, widget, bounds)
    if setting.kind is tuple:
        return tuple(option for option in value if option in options)
    if value in options:
        return value
    if isinstance(value, (int, float)):
        return max((option for option in options if option <= value), default=start)
    return start


def starting_values(source: str, bounds: Limits) -> dict:
    """name -> value of a data source's settings where its form starts without a link (the Data page's)."""
    return {s.name: offered(s, _start(s, widget_for(s.name, source)), bounds, source) for s in SOURCES[source].settings}
