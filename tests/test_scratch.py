"""The work-array pool: a lease collected at any moment gives its arrays back without waiting."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The garbage collector can free a lease (kept alive by a reference cycle, as autograd's graph
# does) during any allocation, also one the pool makes while it holds its own lock. Run it in a
# child process: a deadlock there fails this test instead of hanging the suite.
COLLECT_WHILE_BUSY = """
import gc
from dilate_core import _scratch

class Cycle:
    def __init__(self):
        self.itself = self
        self.lease = _scratch.Lease((3, 4))

gc.disable()
garbage = Cycle()
array = garbage.lease.arrays[0]
del garbage
with _scratch._lock:
    gc.collect()
print(_scratch.Lease((3, 4)).arrays[0] is array)
"""


def test_a_lease_collected_while_the_pool_is_busy_returns_its_arrays_without_waiting():
    result = subprocess.run(
        [sys.executable, "-c", COLLECT_WHILE_BUSY], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"  # parked, then handed out again by the next lease
