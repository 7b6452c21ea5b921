"""Expose each test's outcome to fixtures, so the browser fixture can screenshot failures; one
real two-node Ray cluster on this machine for the whole session, for the tests that need one."""

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def ray_cluster():
    """A head and a worker node, one CPU and a small object store each (skipped without Ray)."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args=node)
    cluster.add_node(**node)
    cluster.wait_for_nodes()
    cluster.node_args = node  # for a test that replaces a node it killed
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def pytest_collection_modifyitems(items):
    """The fast tests first (the numerical core among them): a broken kernel shows in a minute,
    not after the browser, process and Ray tests."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)
