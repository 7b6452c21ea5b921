"""Start the app on a free local port and drive it with Debian's chromium through Playwright."""

import os
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import streamlit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
NGINX = "/usr/sbin/nginx"  # Debian's nginx-light, for the deployment's proxy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_path() -> str | None:
    """The nginx binary to run the deployment's proxy with, or None when none is installed."""
    found = shutil.which("nginx") or NGINX
    return found if os.path.exists(found) else None


def _wait_until_answers(url: str, seconds: float) -> bool:
    """Poll url until it answers 200 with "ok" (the health endpoint) or `seconds` pass; True if it did."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.read().decode().strip() == "ok":
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def start_server(
    port: int,
    extra_env: dict | None = None,
    flags: tuple[str, ...] = (),
    cwd: Path = ROOT,
    script: str = "app.py",
    launcher: str = "explorer.serve",
) -> subprocess.Popen:
    """`python -m <launcher> run app.py` on 127.0.0.1:port from `cwd` (deploy/ for the shared
    server's configuration), as `make run` and `make serve` start it (launcher "streamlit": a
    plain `streamlit run`); returns once /_stcore/health says ok."""
    command = [
        sys.executable,
        "-m",
        launcher,
        "run",
        script,
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        *flags,
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"server-{port}.log", "w")  # noqa: SIM115 (closed with the process)
    env = os.environ | {"DILATE_WORKERS": "2", "PYTHONPATH": str(ROOT)} | (extra_env or {})
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if _wait_until_answers(f"http://127.0.0.1:{port}/_stcore/health", 90):
        return process
    process.kill()
    raise RuntimeError(f"the app did not start on port {port}; see {log.name}")


def start_proxy(proxy_port: int, app_port: int) -> subprocess.Popen:
    """nginx on 127.0.0.1:proxy_port in front of the app on app_port, configured from the
    deployment's template (deploy/nginx.conf.template) as its image does; returns once it answers."""
    nginx = nginx_path()
    if nginx is None:
        raise RuntimeError("nginx is not installed (make system-packages installs it)")
    folder = Path(tempfile.mkdtemp(prefix="nginx-", dir=ARTIFACTS))
    server_block = string.Template((ROOT / "deploy/nginx.conf.template").read_text()).safe_substitute(
        PROXY_PORT=f"127.0.0.1:{proxy_port}",
        APP_ADDRESS=f"127.0.0.1:{app_port}",
        STREAMLIT_STATIC=Path(streamlit.__file__).parent / "static",
    )
    (folder / "nginx.conf").write_text(
        f"daemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nworker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\ninclude /etc/nginx/mime.types;\naccess_log off;\n"
        f"client_body_temp_path {folder};\nproxy_temp_path {folder};\n{server_block}\n}}\n"
    )
    process = subprocess.Popen([nginx, "-c", str(folder / "nginx.conf")])
    if _wait_until_answers(f"http://127.0.0.1:{proxy_port}/_stcore/health", 10):
        return process
    process.kill()
    raise RuntimeError(f"nginx did not answer on port {proxy_port}; see {folder}/error.log")


def settle(page) -> None:
    """Wait until Streamlit's rerun is over (its status widget detaches)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)


def open_section(page, title: str) -> None:
    """Open the expander of this title, as a reader clicks it, and wait for the rerun it asks for."""
    page.locator('[data-testid="stExpander"] summary').filter(has=page.get_by_text(title, exact=True)).click()
    settle(page)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
