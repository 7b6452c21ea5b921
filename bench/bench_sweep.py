"""Throughput of a sweep: the same small grid through each executor, timed in one run.

Executors: the local pool with 1 and with 2 workers, and Ray on a two-node cluster started here
(one CPU per node; skipped without Ray). Each row gives the wall time, the tasks per minute and
the time per task beyond its own training (process start, imports, kernel warm-up, transfer),
from the tasks' own seconds as the store records them. All rows train the same tasks, so their
metrics must agree; the benchmark checks it.

    python -m bench.bench_sweep [--tasks 8] [--epochs 20]
"""

import argparse
import statistics
import tempfile
import time

from dilate_lab.sweep import LocalExecutor, RayExecutor, Store, Sweep, run_sweep


def timed(plan: Sweep, executor) -> tuple[float, list[dict]]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_sweep(plan, folder, executor)
        seconds = time.perf_counter() - start
        store = Store(folder)
        rows = store.rows()
        store.close()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8, help="seeded runs of the one cell")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    plan = Sweep({"n_series": 200, "epochs": args.epochs, "eval_every": 5, "n_preview": 0}, {}, args.tasks)
    executors = {"local, 1 worker": lambda: LocalExecutor(1), "local, 2 workers": lambda: LocalExecutor(2)}
    cluster = None
    try:
        import ray
        from ray.cluster_utils import Cluster

        node = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
        cluster = Cluster(initialize_head=True, head_node_args=node)
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        executors["Ray, 2 nodes x 1 CPU"] = lambda: RayExecutor(cluster.address)
    except ImportError:
        print("ray is not installed: the Ray row is skipped")
    print(f"{args.tasks} tasks of {args.epochs} epochs (synthetic, 200 series, three losses)")
    print(f"{'executor':<22} | {'wall s':>7} | {'tasks/min':>9} | {'training s/task':>15} | {'overhead s/task':>15}")
    reference = None
    try:
        for name, make in executors.items():
            seconds, rows = timed(plan, make())
            training = statistics.mean(row["result"]["seconds"] for row in rows)
            workers = 2 if "2" in name else 1
            overhead = seconds * workers / len(rows) - training
            rate = 60 * len(rows) / seconds
            print(f"{name:<22} | {seconds:>7.1f} | {rate:>9.1f} | {training:>15.2f} | {overhead:>15.2f}")
            metrics = {row["key"]: row["result"]["metrics"] for row in rows}
            assert reference is None or metrics == reference, "an executor gave other numbers"
            reference = metrics
    finally:
        if cluster is not None:
            ray.shutdown()
            cluster.shutdown()


if __name__ == "__main__":
    main()
