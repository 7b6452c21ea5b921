"""The first call of a fresh install: a float32 loss forward and backward, in a new process, on an
empty numba cache ("fresh": what a new venv or container pays once) and again on the cache that
call filled ("cached": every later process), for dilate_core and its peers.

    python -m bench.first_call [--repeats 1]

Each time runs from the interpreter's start (imports included) to the gradient. Peers: tslearn's
SoftDTWLossPyTorch, and pysdtw when it is importable. Each process gets its own empty
NUMBA_CACHE_DIR (a temporary directory), so nothing compiled earlier, here or in a checkout's
__pycache__, is reused.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile

B, N, D = 8, 20, 1  # a small batch: the compile, not the sweep, is timed

_START = "import time; start = time.perf_counter()\nimport torch\n"
_SERIES = f"pred = torch.randn({B}, {N}, {D}, requires_grad=True); target = torch.randn({B}, {N}, {D})\n"
_END = "loss.backward()\nprint(time.perf_counter() - start)\n"

CALLS = {
    "dilate_core DILATELoss (numba)": "from dilate_core import DILATELoss\n"
    + _SERIES
    + "loss = DILATELoss()(pred, target)\n",
    "dilate_core DILATELoss (matrix)": "from dilate_core import DILATELoss\n"
    + _SERIES
    + "loss = DILATELoss(backend='matrix')(pred, target)\n",
    "dilate_core SoftDTWLoss": "from dilate_core import SoftDTWLoss\n"
    + _SERIES
    + "loss = SoftDTWLoss()(pred, target)\n",
    "tslearn SoftDTWLossPyTorch": "from tslearn.metrics import SoftDTWLossPyTorch\n"
    + _SERIES
    + "loss = SoftDTWLossPyTorch(gamma=0.01)(pred, target).mean()\n",
    "pysdtw SoftDTW": "import pysdtw\n"
    + _SERIES
    + "loss = pysdtw.SoftDTW(gamma=0.01, use_cuda=False)(pred, target).mean()\n",
}
NEEDS = {"tslearn SoftDTWLossPyTorch": "tslearn", "pysdtw SoftDTW": "pysdtw"}


def seconds(code: str, cache: str) -> float:
    """The time one fresh interpreter takes to run `code` with NUMBA_CACHE_DIR=cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NUMBA_")} | {"NUMBA_CACHE_DIR": cache}
    done = subprocess.run(
        [sys.executable, "-c", _START + code + _END], env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="fresh/cached pairs per library (median shown)")
    args = parser.parse_args()
    rows = {}
    for name, code in CALLS.items():
        if name in NEEDS and importlib.util.find_spec(NEEDS[name]) is None:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        fresh, cached = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as cache:
                fresh.append(seconds(code, cache))
                cached.append(seconds(code, cache))
        rows[name] = (statistics.median(fresh), statistics.median(cached))
    print(f"First float32 forward + backward, B={B} N={N} d={D}, from interpreter start ({os.cpu_count()} CPUs)")
    print(f"{'loss':34} {'fresh cache':>12} {'cached':>8}")
    for name, (fresh, cached) in rows.items():
        print(f"{name:34} {fresh:11.1f}s {cached:7.1f}s")
    print(json.dumps({name: {"fresh_s": round(f, 2), "cached_s": round(c, 2)} for name, (f, c) in rows.items()}))


if __name__ == "__main__":
    main()
