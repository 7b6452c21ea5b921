"""Every committed summary and claims table rewritten from its store, nothing trained:

    python -m dilate_lab.sweep.rewrite            # results/*/summary.{md,csv}, claims.csv, results/claims.csv

Each summary keeps the command that trained its store (its 'Command:' line), else names its sweep file's.
"""

import re
import sys
from pathlib import Path

from dilate_lab import paper
from dilate_lab.sweep.plan import Sweep
from dilate_lab.sweep.store import STORE_NAME, Store
from dilate_lab.sweep.summary import write_claims_index, write_summary


def stored_command(folder: Path, sweep_file: Path) -> str:
    """The command a summary names: the one its current summary.md gives, else its sweep file's."""
    summary = folder / "summary.md"
    found = re.search(r"^Command: `(.+)`$", summary.read_text(), re.MULTILINE) if summary.exists() else None
    return found.group(1) if found else f"python -m dilate_lab sweep {sweep_file.relative_to(paper.ROOT)}"


def rewrite(results=paper.RESULTS) -> list[Path]:
    """Rewrite the summary of every experiment (paper.EXPERIMENTS) that has a store, then results/claims.csv."""
    results, written = Path(results), []
    for experiment in paper.EXPERIMENTS:
        folder = results / experiment.name
        if not (folder / STORE_NAME).exists() or not experiment.sweep_file.exists():
            continue
        sweep = Sweep.from_file(experiment.sweep_file)[0]
        command = stored_command(folder, experiment.sweep_file)
        store = Store(folder)
        try:
            written.append(write_summary(sweep, store, command))
        finally:
            store.close()
    written.append(write_claims_index(results))
    return written


if __name__ == "__main__":
    for path in rewrite(sys.argv[1] if len(sys.argv) > 1 else paper.RESULTS):
        print(f"wrote {path}")
