"""Time the paper-setting trainings (500 series, batch 100, 20 -> 20, Seq2Seq): a table, not a test.

For each loss alone: seconds per epoch and where they go (model forward, loss forward,
backward through both, optimizer, evaluation); then the three losses side by side for
--epochs epochs, as the app and the CLI run them. Ratios are to the MSE run, in this run.
Then the long-horizon case of today's benchmarks: Seq2Seq on ETTh1's oil temperature, 336
steps in, 336 out, batch 32, each loss alone; "loss share" is the part of the epoch that the
loss adds to the MSE epoch, 1 - t(MSE) / t(loss).

    python -m bench.bench_training [--epochs 500] [--single-epochs 20] [--long-epochs 3]
"""

import argparse
import time

import torch

import dilate_core
from dilate_lab.settings import LOSSES
from dilate_lab.train import Config, Trainer, load_dataset

PHASES = ("forward", "loss", "backward", "optimizer", "eval")


def per_loss_table(base: Config, dataset) -> None:
    """Print, per loss trained alone with `base`'s settings, the seconds per epoch and their phases.

    The three trainings take turns epoch by epoch, so that a busy moment of the machine falls
    on all of them alike rather than on whichever ran then.
    """
    runs = {name: Trainer(Config(**(vars(base) | {"losses": (name,)})), dataset).run() for name in LOSSES}
    reports = {name: [] for name in LOSSES}
    for _ in range(base.epochs):
        for name, run in runs.items():
            reports[name].append(next(run))
    print(f"{'loss':<9} | " + " | ".join(f"{c:>8}" for c in ("epoch", *PHASES)) + " | x MSE | loss share")
    per_epoch = {}
    for name in LOSSES:
        timed = reports[name][1:]  # the first epoch pays for warm-up
        mean = {key: sum(r.timing[key] for r in timed) / len(timed) for key in PHASES}
        per_epoch[name] = sum(r.seconds for r in timed) / len(timed)
        ratio, share = per_epoch[name] / per_epoch["mse"], 1 - per_epoch["mse"] / per_epoch[name]
        cells = " | ".join(f"{c:>8.4f}" for c in (per_epoch[name], *mean.values()))
        print(f"{name:<9} | {cells} | {ratio:5.2f} | {share:10.0%}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500, help="epochs of the side-by-side run")
    parser.add_argument("--single-epochs", type=int, default=20, help="epochs of each single-loss run")
    parser.add_argument("--long-epochs", type=int, default=3, help="epochs per loss at horizon 336 (0: skip)")
    args = parser.parse_args()
    dilate_core.warmup()
    base = Config(epochs=args.single_epochs, eval_every=10)
    dataset = load_dataset(base)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per epoch, mean of the epochs")
    per_loss_table(base, dataset)
    if args.epochs:
        trainer = Trainer(Config(epochs=args.epochs, eval_every=10), dataset)
        start = time.perf_counter()
        for _ in trainer.run():
            pass
        wall = time.perf_counter() - start
        print(f"three losses side by side, {args.epochs} epochs: {wall:.1f} s ({wall / 60:.2f} min)")
    if args.long_epochs:
        epochs = args.long_epochs + 1  # the first is warm-up; no evaluation epoch among them
        long = Config(
            dataset="etth1", n_input=336, n_output=336, stride=24, batch_size=32, epochs=epochs, eval_every=epochs + 1
        )
        dataset = load_dataset(long)
        print(f"\nSeq2Seq, ETTh1 336 -> 336, {len(dataset.train_x)} windows, batch 32; seconds per epoch")
        per_loss_table(long, dataset)


if __name__ == "__main__":
    main()
