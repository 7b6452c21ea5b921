"""The library's documentation: the API reference matches the docstrings, and the wheel's
description and URLs point where they should."""

import tomllib
from pathlib import Path

from docs import build_api

ROOT = Path(__file__).resolve().parent.parent


def test_the_api_reference_is_what_the_docstrings_give_now():
    assert build_api.OUT.read_text() == build_api.render(), "run: python -m docs.build_api"


def test_the_reference_names_every_public_loss():
    from dilate_core import losses

    text = build_api.OUT.read_text()
    for name in losses.__all__:
        if callable(getattr(losses, name)):
            assert f"### `dilate_core.losses.{name}`" in text


def test_the_package_describes_itself_with_its_own_readme_and_links():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    readme = ROOT / project["readme"]["file"]
    assert readme.parent.name == "dilate_core"
    text = readme.read_text()
    for section in ("## Install", "## Example", "## API", "NUMBA_CACHE_DIR", "warmup()", "spawn"):
        assert section in text
    assert {"Source", "Issues", "Changelog"} <= set(project["urls"])
    assert "## " + __import__("dilate_core").__version__ in (ROOT / "CHANGELOG.md").read_text()
