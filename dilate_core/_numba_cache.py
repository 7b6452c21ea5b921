"""Where numba caches the compiled kernels, decided once before they are defined.

numba writes its cache beside the source (`__pycache__`) or in the user's cache directory
(~/.cache/numba), and raises "cannot cache function ...: no locator available" at import when
it can write neither, as in a read-only install run with an unwritable HOME (a container). Then
the cache goes to a directory of this user's under the system's temporary directory, and when
none is writable either the kernels compile in memory at each start (about a minute); either is
said once, as a warning. NUMBA_CACHE_DIR, when set, is numba's to use, as always.
"""

import logging
import os
import tempfile
import warnings

import numba
from numba.core import caching, event

# The lowest numba the library's tests pass with (pyproject.toml declares it; numba 0.59-0.61
# fail inside numba's caching at import, with an error that names none of this).
NUMBA_FLOOR = (0, 62)
if tuple(int(part) for part in numba.__version__.split(".")[:2]) < NUMBA_FLOOR:
    raise ImportError(
        f"dilate_core needs numba >= {'.'.join(map(str, NUMBA_FLOOR))}, found numba {numba.__version__}: "
        f"pip install 'numba>={'.'.join(map(str, NUMBA_FLOOR))}'"
    )


def _probe():
    """A function in this package's folder, for numba's cache locators to place."""


def _numba_finds_a_place() -> bool:
    """Whether one of numba's own cache locators can write for a function of this folder."""
    source = os.path.abspath(__file__)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)  # renamed in numba 0.6x
    locators = getattr(impl, "_locator_classes", None)
    if locators is None or numba.config.CACHE_LOCATOR_CLASSES:  # moved internals, or the user's own locators
        return True
    return any(locator.from_function(_probe, source) is not None for locator in locators)


def _writable(path: str) -> bool:
    """Whether `path` is (or can be made) a directory of this user's that takes files."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return os.stat(path).st_uid == os.getuid()  # not one another user made in a shared /tmp


def cache_enabled() -> bool:
    """True when the kernels can be cached (numba.config.CACHE_DIR set to a temporary directory if
    that is the only writable place), False, with a warning, when they compile at each start."""
    if _numba_finds_a_place():
        return True
    fallback = os.path.join(tempfile.gettempdir(), f"dilate_core-numba-cache-{os.getuid()}")
    if _writable(fallback):
        numba.config.CACHE_DIR = fallback
        warnings.warn(
            f"dilate_core: neither the package's folder nor the user's cache directory is writable; numba caches "
            f"the kernels in {fallback} (set NUMBA_CACHE_DIR to choose).",
            RuntimeWarning,
            stacklevel=2,
        )
        return True
    warnings.warn(
        "dilate_core: no writable directory for numba's cache; the kernels compile at each start "
        "(set NUMBA_CACHE_DIR to a writable directory to keep them).",
        RuntimeWarning,
        stacklevel=2,
    )
    return False


_logger = logging.getLogger("dilate_core")


class _CompileNotice(event.Listener):
    """Says once per process, when a kernel of this package starts compiling (a cache miss: a
    kernel loaded from numba's disk cache is not compiled), how long it takes and how to avoid it.
    A log line of the "dilate_core" logger, not a warning: silence it with
    logging.getLogger("dilate_core").setLevel(logging.ERROR)."""

    said = registered = False

    def on_start(self, started):
        function = getattr(started.data.get("dispatcher"), "py_func", None)
        if self.said or not getattr(function, "__module__", "").startswith("dilate_core."):
            return
        self.said = True
        where = numba.config.CACHE_DIR or "__pycache__ beside the package (or ~/.cache/numba)"
        _logger.warning(
            "dilate_core: compiling the loss kernels for this process's first call (30-90 s, once: they are "
            "cached in %s for later processes). Run dilate_core.warmup() once per environment (a container "
            "build, each cluster node), with NUMBA_CACHE_DIR set to a directory that persists.",
            where,
        )

    def on_end(self, ended):
        pass


_NOTICE = _CompileNotice()


def announce_compiles() -> None:
    """Registers the one-line notice of a cold compile (once, however often it is called)."""
    if not _NOTICE.registered:
        event.register("numba:compile", _NOTICE)
        _NOTICE.registered = True
