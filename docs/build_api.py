"""Writes docs/api.md, the library's API reference, from the public names' docstrings.

python -m docs.build_api           # rewrite docs/api.md
python -m docs.build_api --check   # exit 1 when docs/api.md is not what the docstrings give
"""

import argparse
import importlib
import inspect
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "api.md"
# The public modules and the names each documents, in reading order.
MODULES = {
    "dilate_core": ["DILATELoss", "SoftDTWLoss", "SoftDTWDivergenceLoss", "warmup", "set_kernel_threads"],
    "dilate_core.losses": None,  # its __all__
    "dilate_core.metrics": None,
    "dilate_core.data": ["make_synthetic", "Dataset"],
    "dilate_core.threads": None,
}


def public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", "") == module.__name__
        ]
    return [n for n in names if callable(getattr(module, n))]


def entry(module_name: str, name: str, thing) -> str:
    try:
        signature = str(inspect.signature(thing))
    except (TypeError, ValueError):
        signature = "(...)"
    kind = "class" if inspect.isclass(thing) else "def"
    doc = inspect.getdoc(thing) or "(undocumented)"
    return f"### `{module_name}.{name}`\n\n```python\n{kind} {name}{signature}\n```\n\n```text\n{doc}\n```\n"


def render() -> str:
    parts = [
        "# dilate_core API reference\n",
        "Generated from the docstrings by `python -m docs.build_api`; do not edit.\n",
    ]
    for module_name, names in MODULES.items():
        module = importlib.import_module(module_name)
        parts.append(f"## `{module_name}`\n\n```text\n{inspect.getdoc(module)}\n```\n")
        for name in names or public_names(module):
            parts.append(entry(module_name, name, getattr(module, name)))
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description="Write or check docs/api.md.")
    parser.add_argument("--check", action="store_true", help="only check that docs/api.md is up to date")
    text = render()
    if parser.parse_args().check:
        if not OUT.exists() or OUT.read_text() != text:
            print("docs/api.md is out of date: run python -m docs.build_api", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
