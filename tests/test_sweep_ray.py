"""The sweep's Ray executor on a real two-node Ray cluster on this machine (conftest's ray_cluster)."""

import pytest

from dilate_core.sweep import RayExecutor, Store, Sweep, executor_from, run_sweep, train_task

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
