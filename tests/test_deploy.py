"""The deployment files, checked without Docker: the image installs what the requirements pin,
runs as a non-root user and probes the health endpoint; the compose file's commands exist."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def _run_lines() -> str:
    """The Dockerfile's RUN instructions with their continuation lines joined."""
    return re.sub(r"\s*\\\n\s*", " ", DOCKERFILE)


def test_the_image_installs_the_pinned_cpu_torch_the_requirements_and_ray():
    runs = _run_lines()
    pins = {}
    for file, name in (("requirements.txt", "torch"), ("requirements-dev.txt", "ray")):
        pattern = f"^{name}=="  # the grep the Dockerfile runs on that file
        assert f"\"$(grep '{pattern}' {file})\"" in runs
        lines = [line for line in (ROOT / file).read_text().splitlines() if re.match(pattern, line)]
        assert len(lines) == 1, f"{file} must pin {name} on exactly one line"
        pins[name] = lines[0]
    assert "--index-url https://download.pytorch.org/whl/cpu \"$(grep '^torch==' requirements.txt)\"" in runs
    assert "-r requirements.txt" in runs
    assert pins["torch"] == "torch==2.13.0"


def test_the_image_runs_the_makefiles_server_as_a_non_root_user_with_a_health_check():
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    health = re.search(r"^HEALTHCHECK .*\n\s*CMD (.*)$", DOCKERFILE, re.MULTILINE).group(1)
    config = (ROOT / "deploy" / ".streamlit" / "config.toml").read_text()
    port = re.search(r"^port = (\d+)", config, re.MULTILINE).group(1)
    assert f"127.0.0.1:{port}/_stcore/health" in health
    assert re.search(rf"^EXPOSE {port}$", DOCKERFILE, re.MULTILINE)
    assert 'CMD ["make", "serve"]' in DOCKERFILE
    assert re.search(r"^serve:", (ROOT / "Makefile").read_text(), re.MULTILINE)
    # The Makefile's marker of an installed environment, touched after the last copy of the
    # requirements, so `make serve` finds them installed and installs nothing at start.
    assert "touch .venv/.installed" in _run_lines().rsplit("\nCOPY ", 1)[1]


def test_the_compose_files_services_run_commands_that_exist():
    yaml = pytest.importorskip("yaml")  # installed with ray
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"app", "ray-head", "ray-worker"}
    ray = Path(sys.executable).parent / "ray"
    if not ray.exists():
        pytest.skip("ray is not installed")
    help_text = subprocess.run([ray, "start", "--help"], capture_output=True, text=True, check=True).stdout
    for name in ("ray-head", "ray-worker"):
        command = services[name]["command"]
        assert command[:2] == [".venv/bin/ray", "start"]
        for option in (word for word in command if word.startswith("--")):
            assert option in help_text, f"{name}: ray start has no {option}"
    head = services["ray-head"]["command"]
    port = head[head.index("--port") + 1]
    worker = services["ray-worker"]["command"]
    assert worker[worker.index("--address") + 1] == f"ray-head:{port}"
    app = services["app"]
    assert app["command"] == ["make", "serve"]
    assert app["environment"]["DILATE_RAY_ADDRESS"] == f"ray-head:{port}"
    status = services["ray-head"]["healthcheck"]["test"]
    help_status = subprocess.run([ray, *status[1:2], "--help"], capture_output=True, text=True, check=True).stdout
    assert "--address" in help_status
    assert all(service["build"]["dockerfile"] == "deploy/Dockerfile" for service in services.values())
