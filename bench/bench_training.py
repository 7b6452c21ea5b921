"""Time the paper-setting trainings (500 series, batch 100, 20 -> 20, Seq2Seq): a table, not a test.

For each loss alone: seconds per epoch and where they go (model forward, loss forward,
backward through both, optimizer, evaluation); then the three losses side by side for
--epochs epochs, as the app and the CLI run them. Ratios are to the MSE run, in this run.

    python -m bench.bench_training [--epochs 500] [--single-epochs 20]
"""

import argparse
import time

import torch

import dilate_core
from dilate_core.train import LOSSES, Config, Trainer, load_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500, help="epochs of the side-by-side run")
    parser.add_argument("--single-epochs", type=int, default=20, help="epochs of each single-loss run")
    args = parser.parse_args()
    dilate_core.warmup()
    base = Config(epochs=args.single_epochs, eval_every=10)
    dataset = load_dataset(base)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per epoch, mean of the epochs")
    columns = ("epoch", "forward", "loss", "backward", "optim", "eval")
    print(f"{'loss':<9} | " + " | ".join(f"{c:>8}" for c in columns) + " | x MSE")
    per_epoch = {}
    for name in LOSSES:
        trainer = Trainer(Config(**(vars(base) | {"losses": (name,)})), dataset)
        reports = list(trainer.run())[1:]  # the first epoch pays for warm-up
        mean = {key: sum(r.timing[key] for r in reports) / len(reports) for key in reports[0].timing}
        per_epoch[name] = sum(r.seconds for r in reports) / len(reports)
        cells = [per_epoch[name]] + [mean[k] for k in ("forward", "loss", "backward", "optimizer", "eval")]
        ratio = per_epoch[name] / per_epoch["mse"]
        print(f"{name:<9} | " + " | ".join(f"{c:>8.4f}" for c in cells) + f" | {ratio:.2f}")
    trainer = Trainer(Config(epochs=args.epochs, eval_every=10), dataset)
    start = time.perf_counter()
    for _ in trainer.run():
        pass
    wall = time.perf_counter() - start
    print(f"three losses side by side, {args.epochs} epochs: {wall:.1f} s ({wall / 60:.2f} min)")


if __name__ == "__main__":
    main()
