"""Starting spawned processes from inside a Streamlit app (or its tests)."""

import sys
import types
from contextlib import contextmanager


@contextmanager
def bare_main():
    """A spawned process re-runs the parent's __main__.__file__ first; under Streamlit (and after
    Streamlit's AppTest) that is the app script, which must not run in a worker, so hide it
    while processes start."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
