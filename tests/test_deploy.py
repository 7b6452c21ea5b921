"""The deployment files, checked without Docker: the image installs what the requirements pin,
runs as a non-root user and probes the health endpoint; the compose file's commands exist; the
nginx in front serves the front end's files itself and passes the rest, websocket included, to
the app (run with Debian's nginx)."""

import base64
import gzip
import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import streamlit

from tests.browser import free_port, nginx_path, start_proxy, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()
STAGES = dict(re.findall(r"^FROM \S+ AS (\w+)\n(.*?)(?=^FROM |\Z)", DOCKERFILE, re.MULTILINE | re.DOTALL))
APP_PORT = re.search(r"^port = (\d+)", (ROOT / "deploy" / ".streamlit" / "config.toml").read_text(), re.MULTILINE)[1]


def _run_lines(text: str = DOCKERFILE) -> str:
    """A Dockerfile's instructions with their continuation lines joined."""
    return re.sub(r"\s*\\\n\s*", " ", text)


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
    app = STAGES["app"]
    users = re.findall(r"^USER (\S+)", app, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    health = re.search(r"^HEALTHCHECK .*\n\s*CMD (.*)$", app, re.MULTILINE).group(1)
    assert f"127.0.0.1:{APP_PORT}/_stcore/health" in health
    assert re.search(rf"^EXPOSE {APP_PORT}$", app, re.MULTILINE)
    assert 'CMD ["make", "serve"]' in app
    assert re.search(r"^serve:", (ROOT / "Makefile").read_text(), re.MULTILINE)
    # The Makefile's marker of an installed environment, touched after the last copy of the
    # requirements, so `make serve` finds them installed and installs nothing at start.
    assert "touch .venv/.installed" in _run_lines(app).rsplit("\nCOPY ", 1)[1]


def test_the_compose_files_services_run_commands_that_exist():
    yaml = pytest.importorskip("yaml")  # installed with ray
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"app", "ray-head", "ray-worker", "proxy"}
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
    targets = {name: service["build"]["target"] for name, service in services.items()}
    assert targets == {"app": "app", "ray-head": "app", "ray-worker": "app", "proxy": "proxy"}
    # Visitors reach the app through the proxy only, on the port the proxy listens on.
    proxy_env = dict(re.findall(r"(\w+)=(\S+)", re.search(r"^ENV (.*)$", STAGES["proxy"], re.MULTILINE)[1]))
    assert "ports" not in app and services["proxy"]["ports"] == [f"{APP_PORT}:{proxy_env['PROXY_PORT']}"]
    assert services["proxy"]["environment"]["APP_ADDRESS"] == f"app:{APP_PORT}"


def test_the_proxy_image_takes_the_front_end_from_the_apps_own_streamlit():
    proxy = STAGES["proxy"]
    source, target = re.search(r"^COPY --from=app (\S+) (\S+)$", proxy, re.MULTILINE).groups()
    python = re.search(r"^FROM python:(\d+\.\d+)", DOCKERFILE, re.MULTILINE)[1]
    workdir = re.search(r"^WORKDIR (\S+)$", STAGES["app"], re.MULTILINE)[1]
    assert source == f"{workdir}/.venv/lib/python{python}/site-packages/streamlit/static"
    assert f"STREAMLIT_STATIC={target}" in proxy
    assert "COPY deploy/nginx.conf.template /etc/nginx/templates/" in proxy  # the entrypoint fills it in
    variables = set(re.findall(r"\$\{(\w+)\}", (ROOT / "deploy" / "nginx.conf.template").read_text()))
    assert variables == {"PROXY_PORT", "APP_ADDRESS", "STREAMLIT_STATIC"}
    assert all(f"{name}=" in proxy for name in variables)


def _get(url: str, headers: dict | None = None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as answer:
        return answer.status, answer.headers, answer.read()


@pytest.mark.slow
@pytest.mark.skipif(nginx_path() is None, reason="nginx is not installed")
def test_nginx_serves_the_front_end_itself_and_passes_the_app_and_its_websocket_through():
    app_port, proxy_port = free_port(), free_port()
    server = start_server(app_port, cwd=ROOT / "deploy", script="../app.py")
    try:
        proxy = start_proxy(proxy_port, app_port)
        try:
            url = f"http://127.0.0.1:{proxy_port}"
            status, _, page = _get(f"{url}/data")  # a page of the app, from the app
            assert status == 200 and b'<div id="root">' in page
            script = re.search(rb'src="\.?/?(static/js/[^"]+\.js)"', page)[1].decode()
            on_disk = (Path(streamlit.__file__).parent / "static" / script).read_bytes()
            status, headers, body = _get(f"{url}/{script}", {"Accept-Encoding": "gzip"})
            assert status == 200 and headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == on_disk
            assert headers["Cache-Control"] == "max-age=31536000"  # set by nginx, not by the app
            _, direct, _ = _get(f"http://127.0.0.1:{app_port}/{script}")
            assert direct.get("Cache-Control") != headers["Cache-Control"]
            assert _get(f"{url}/_stcore/health")[2] == b"ok"
            # The session's websocket: the upgrade reaches the app and is accepted.
            key = base64.b64encode(os.urandom(16)).decode()
            with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as connection:
                connection.sendall(
                    f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{proxy_port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                    f"Origin: {url}\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n".encode()
                )
                assert connection.recv(4096).split(b"\r\n")[0] == b"HTTP/1.1 101 Switching Protocols"
        finally:
            stop_server(proxy)
    finally:
        stop_server(server)


def test_a_server_with_a_malformed_limit_says_which_and_does_not_start():
    # `make run` and `make serve` start through explorer.serve, which reads the limits first.
    environment = os.environ | {"DILATE_WORKERS": "two", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "explorer.serve", "run", "app.py", f"--server.port={free_port()}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip().splitlines()[-1]
        == "Cannot start the server: DILATE_WORKERS must be a whole number, got 'two'."
    )
    assert "Traceback" not in done.stderr and "compiling the kernels" not in done.stderr
