"""The README's layout table holds: each folder imports only what its row allows."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = {"dilate_core", "dilate_lab", "explorer", "pages", "app", "tests", "bench"}  # our own top-level modules


def layout_rows() -> dict[str, str]:
    """README's layout table: folder or file (backticked, trailing slash dropped) -> its 'may import' text."""
    section = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines()[2:]:
        names, _, may_import = line.strip("|").split(" | ")
        for name in re.findall(r"`([^`]+)`", names):
            rows[name.rstrip("/")] = may_import.strip()
    return rows


def rules(text: str) -> tuple[set[str], set[str]]:
    """(allowed, forbidden) module names of a 'may import' text: '`explorer`, numpy; never `dilate_lab.cli`'."""
    allowed, forbidden = set(), set()
    for part in text.split(";"):
        names = {name.lower() for name in re.findall(r"`?([A-Za-z_][\w.]*)`?", part)} - {"never", "or", "and"}
        (forbidden if part.strip().startswith("never") else allowed).update(names)
    return allowed, forbidden


def imports(path: Path) -> set[str]:
    """Every module a Python file imports, dotted ('dilate_lab.cli'), absolute imports only."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def files(name: str) -> list[Path]:
    path = ROOT / name
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


ROWS = layout_rows()


def test_the_table_names_every_top_level_code_folder():
    code = {p.name for p in ROOT.iterdir() if p.is_dir() and any(p.glob("*.py"))} | {"app.py"}
    assert code <= set(ROWS), f"not in the README's layout table: {sorted(code - set(ROWS))}"
    assert all((ROOT / name).exists() for name in ROWS)


@pytest.mark.parametrize("name", [name for name, text in ROWS.items() if text and text != "everything"])
def test_each_folder_imports_only_what_its_row_allows(name):
    allowed, forbidden = rules(ROWS[name])
    own = name.removesuffix(".py")
    for path in files(name):
        for module in imports(path):
            top = module.split(".")[0]
            where = f"{path.relative_to(ROOT)} imports {module}"
            assert not any(module == f or module.startswith(f + ".") for f in forbidden), where
            assert top not in forbidden, where
            if top in PROJECT and top != own:
                assert top in allowed or module in allowed, where


def test_the_rules_read_the_table_as_written():
    assert rules("`explorer`, `dilate_core`; never `dilate_lab.cli`") == (
        {"explorer", "dilate_core"},
        {"dilate_lab.cli"},
    )
    assert "streamlit" in rules(ROWS["dilate_core"])[1] and "explorer" in rules(ROWS["dilate_core"])[1]


@pytest.mark.parametrize("script", sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__"))
def test_every_bench_script_imports(script):
    # A name moved elsewhere breaks a bench only when someone runs it, long after: import each one here.
    importlib.import_module(f"bench.{script}")
