"""The dilate-core wheel as a researcher gets it: built from this checkout, installed read-only
beside the venv with an unwritable HOME, and used from another directory."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import dilate_core
from dilate_core import _numba_cache

ROOT = Path(__file__).resolve().parent.parent
APP_FOLDERS = {"app.py", "pages", "explorer", "dilate_lab", "bench", "tests", "results", "assets", "sweeps", "deploy"}
pytestmark = pytest.mark.slow  # builds and installs the wheel
# Capabilities that let root write where permissions say no: dropped, root is held to them too.
UNPRIVILEGED = ["--bounding-set=-dac_override,-dac_read_search,-fowner,-linux_immutable"]


def can_build_here() -> bool:
    """Whether the venv's setuptools builds this pyproject without fetching another (SPDX licence: >= 77)."""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    isolation = ["--no-build-isolation"] if can_build_here() else []
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(out), str(ROOT)]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    (built,) = out.glob("dilate_core-*.whl")
    return built


def test_the_wheel_holds_the_core_alone_with_its_licence_and_type_marker(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    info = f"dilate_core-{dilate_core.__version__}.dist-info"
    assert {name.split("/")[0] for name in names} == {"dilate_core", info}
    assert not APP_FOLDERS & {part for name in names for part in Path(name).parts}
    for expected in ("dilate_core/py.typed", "dilate_core/losses.py", "dilate_core/integrations/darts.py"):
        assert expected in names
    assert f"{info}/licenses/LICENSE" in names
    assert "MIT License" in zipfile.ZipFile(wheel).read(f"{info}/licenses/LICENSE").decode()


def test_the_wheel_requires_ranges_of_torch_numpy_and_numba_only(wheel):
    info = f"dilate_core-{dilate_core.__version__}.dist-info"
    metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    lines = metadata.splitlines()
    requirements = [Requirement(line.split(":", 1)[1]) for line in lines if line.startswith("Requires-Dist:")]
    required = {r.name: r.specifier for r in requirements if r.marker is None}
    assert set(required) == {"torch", "numpy", "numba"}
    assert all(not any(spec.operator == "==" for spec in specifier) for specifier in required.values())
    assert "2.13.0" in required["torch"] and "2.1.0" in required["torch"]  # the app's pin, and older ones
    extras = {str(r.marker).split('"')[1] for r in requirements if r.marker is not None}
    assert extras == {"metrics"}
    assert "License-Expression: MIT" in metadata


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="root, no setpriv: all writable")
def test_installed_read_only_with_an_unwritable_home_the_loss_runs_forward_and_backward(wheel, tmp_path):
    target, home, elsewhere = tmp_path / "target", tmp_path / "home", tmp_path / "elsewhere"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", str(target)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=600)
    for folder in (home, elsewhere):
        folder.mkdir()
    for path in [target, *target.rglob("*"), home]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    script = (
        "import json, warnings\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    import torch, dilate_core\n"
        "    from dilate_core import DILATELoss\n"
        "    pred = torch.randn(4, 12, 2, requires_grad=True)\n"
        "    loss = DILATELoss()(pred, torch.randn(4, 12, 2))\n"
        "    loss.backward()\n"
        "said = [str(w.message) for w in caught if str(w.message).startswith('dilate_core')]\n"
        "print(json.dumps({'file': dilate_core.__file__, 'loss': loss.item(), 'grad': pred.grad.abs().sum().item(),\n"
        "                  'said': said}))\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NUMBA_", "PYTHON"))}
    env.update(HOME=str(home), PYTHONPATH=str(target), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-c", script]
    if os.geteuid() == 0:
        command = ["setpriv", *UNPRIVILEGED, *command]
    try:
        done = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    finally:
        for path in [target, *target.rglob("*"), home]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # so that pytest can remove them
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["file"] == str(target / "dilate_core" / "__init__.py")
    assert result["loss"] == result["loss"] and result["grad"] > 0  # finite, and a gradient came back
    assert len(result["said"]) == 1 and "caches the kernels in" in result["said"][0]
    assert "no locator" not in done.stderr


def test_without_any_writable_cache_place_caching_is_skipped_and_said_once(monkeypatch):
    monkeypatch.setattr(_numba_cache, "_numba_finds_a_place", lambda: False)
    monkeypatch.setattr(_numba_cache, "_writable", lambda path: False)
    with pytest.warns(RuntimeWarning, match="compile at each start") as said:
        assert _numba_cache.cache_enabled() is False
    assert len(said) == 1


def test_with_only_a_temporary_directory_writable_the_cache_goes_there(monkeypatch, tmp_path):
    import numba

    monkeypatch.setattr(_numba_cache, "_numba_finds_a_place", lambda: False)
    monkeypatch.setattr(_numba_cache.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    with pytest.warns(RuntimeWarning, match="caches the kernels in") as said:
        assert _numba_cache.cache_enabled() is True
    assert len(said) == 1
    fallback = tmp_path / f"dilate_core-numba-cache-{os.getuid()}"
    assert Path(numba.config.CACHE_DIR) == fallback and fallback.is_dir()


def test_a_writable_package_folder_needs_no_fallback():
    assert _numba_cache._numba_finds_a_place()  # this checkout's __pycache__
