"""Where numba caches the compiled kernels, decided once before they are defined.

numba writes its cache beside the source (`__pycache__`) or in the user's cache directory
(~/.cache/numba), and raises "cannot cache function ...: no locator available" at import when
it can write neither, as in a read-only install run with an unwritable HOME (a container). Then
the cache goes to a directory of this user's under the system's temporary directory, and when
none is writable either the kernels compile in memory at each start (about a minute); either is
said once, as a warning. NUMBA_CACHE_DIR, when set, is numba's to use, as always.
"""

import os
import tempfile
import warnings

import numba
from numba.core import caching


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
