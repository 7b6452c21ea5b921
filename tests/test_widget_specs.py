"""The app's widget table against the core's settings and the server's limits."""

from dataclasses import fields

import pytest

from dilate_lab.settings import SETTINGS
from dilate_lab.sources import SOURCES
from explorer.limits import Limits
from explorer.widget_specs import SOURCE_WIDGETS, WIDGETS, widget_for

ALL = [(None, name, widget) for name, widget in WIDGETS.items()] + [
    (source, name, widget) for source, table in SOURCE_WIDGETS.items() for name, widget in table.items()
]


@pytest.mark.parametrize(("source", "name", "widget"), ALL, ids=[f"{s or 'any'}.{n}" for s, n, _ in ALL])
def test_every_widget_offers_a_real_setting_within_its_bounds_capped_by_a_real_limit(source, name, widget):
    setting = SETTINGS[name]
    assert source is None or source in SOURCES
    assert widget.limit is None or widget.limit in {f.name for f in fields(Limits)}
    if widget.low is not None:
        assert setting.low <= widget.low <= (widget.high if widget.high is not None else setting.high) <= setting.high
    for option in widget.options or ():
        setting.check(option)  # every value offered is one the setting accepts
    if widget.default is not None:
        setting.check(widget.default)


def test_every_setting_a_source_offers_has_its_widget():
    for source in SOURCES.values():
        for setting in source.settings:
            assert setting.name in SOURCE_WIDGETS.get(source.name, {}) or setting.name in WIDGETS, setting.name
    assert widget_for("n_input", "ecg5000").label == "Input length" and widget_for("n_input", "ecg5000").high == 120
    assert widget_for("n_series", "synthetic") is WIDGETS["n_series"]  # no source's own: the common one
