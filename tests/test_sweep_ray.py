"""The sweep's Ray executor on a real two-node Ray cluster on this machine (conftest's ray_cluster)."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dilate_lab.sweep import RayExecutor, Store, Sweep, executor_from, run_sweep, train_task

pytestmark = pytest.mark.slow  # a Ray cluster

ray = pytest.importorskip("ray")

TINY = {"n_series": 30, "hidden": 8, "batch_size": 15, "epochs": 2, "eval_every": 1, "n_preview": 0}


def test_a_sweep_on_a_ray_cluster_gives_the_numbers_of_training_locally(ray_cluster, tmp_path):
    plan = Sweep(TINY | {"select_on_validation": True}, {"dataset": ["synthetic", "csv"]}, runs=2)
    seen = []
    run_sweep(plan, tmp_path, RayExecutor(ray_cluster.address, retries=0), lambda *a: seen.append(a))
    assert seen[-1] == (2, 4, 2)
    store = Store(tmp_path)
    done = store.rows()
    assert len(done) == 2
    for row in done:
        assert row["result"]["metrics"] == train_task(row["config"])["metrics"]
    failed = store.rows("failed")
    assert len(failed) == 2 and all("needs its data set" in row["error"] for row in failed)
    nodes = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert len(nodes) == 2


def test_an_address_or_ray_address_picks_the_ray_executor(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert type(executor_from()).__name__ == "LocalExecutor"
    assert isinstance(executor_from("10.0.0.1:6379"), RayExecutor)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert executor_from().address == "auto"


def _kill_the_worker_node_once_both_nodes_train(cluster, killed: list) -> None:
    """With one CPU per node, no free CPU means a task runs on each node: then crash the worker."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ray.is_initialized() and ray.available_resources().get("CPU", 0) == 0:
            node = next(iter(cluster.worker_nodes))
            cluster.remove_node(node, allow_graceful=False)
            killed.append(node)
            return
        time.sleep(0.05)


def test_a_sweep_finishes_when_a_worker_node_dies_mid_task(ray_cluster, tmp_path):
    plan = Sweep(TINY | {"epochs": 40}, {}, runs=3)
    killed = []
    killer = threading.Thread(target=_kill_the_worker_node_once_both_nodes_train, args=(ray_cluster, killed))
    killer.start()
    try:
        run_sweep(plan, tmp_path, RayExecutor(ray_cluster.address, retries=3))
    finally:
        killer.join()
        if killed:  # give the session's cluster its second node back
            ray_cluster.add_node(**ray_cluster.node_args)
            ray_cluster.wait_for_nodes()
    assert killed, "no moment with a task on each node"
    store = Store(tmp_path)
    assert store.rows("failed") == []
    done = store.rows()
    assert sorted(row["run"] for row in done) == [0, 1, 2]  # nothing missing, nothing twice
    assert done[0]["result"]["metrics"] == train_task(done[0]["config"])["metrics"]


def test_a_killed_driver_leaves_its_finished_tasks_and_a_rerun_trains_only_the_rest(ray_cluster, tmp_path):
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "dilate_lab", "sweep", "--out", str(tmp_path), "--ray", ray_cluster.address]
    command += ["--runs", "4", "--n-series", "30", "--hidden", "8", "--n-preview", "0"]
    database = tmp_path / "sweep.sqlite"

    def finished() -> dict[str, float]:
        if not database.exists():
            return {}
        with sqlite3.connect(database) as db:
            return dict(db.execute("SELECT key, finished FROM tasks WHERE status = 'done'"))

    driver = subprocess.Popen([*command, "--epochs", "20"], cwd=root, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not finished() and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(driver.pid, signal.SIGKILL)  # no handler runs: the driver just vanishes
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    first = finished()
    assert 1 <= len(first) < 4, "the driver was killed too late to leave tasks missing"
    subprocess.run([*command, "--epochs", "20"], cwd=root, check=True, capture_output=True, timeout=300)
    second = finished()
    assert len(second) == 4
    assert {key: second[key] for key in first} == first  # the tasks done before the kill did not run again
