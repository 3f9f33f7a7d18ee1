"""A synthetic training script for ``trainboard demo`` (run under ``trainboard run``).

It behaves like a real one: tqdm bars redrawn with ``\\r``, coloured epoch summaries, a warning on
stderr, metrics through the SDK, checkpoint files saved and the best one marked. A learning rate above
``STABLE_LR`` makes it diverge the way a real one does: halfway through, the loss grows every step until it is
NaN, and the run ends with a traceback. The learning rate is in the run's config, so the dashboard shows why.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

from tqdm import tqdm

from trainboard import TrainingMonitor

#: the largest learning rate this synthetic model trains with; above it the loss diverges
STABLE_LR = 1e-3
GREEN, YELLOW, RED, CYAN, BOLD, RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[36m", "\x1b[1m", "\x1b[0m"


def save_checkpoint_file(path: Path, step: int, loss: float) -> None:
    """A real checkpoint file: torch's format when PyTorch is installed, else JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import torch

        torch.save({"step": step, "model": {"w": torch.zeros(4, 4)}, "loss": loss}, path)
    except ImportError:
        path.write_text(json.dumps({"step": step, "loss": loss, "model": {"w": [[0.0] * 4] * 4}}))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200, help="steps per epoch")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds per step")
    parser.add_argument("--lr", type=float, default=3e-4, help=f"peak learning rate (above {STABLE_LR} diverges)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--checkpoints", type=Path, required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    diverges = args.lr > STABLE_LR
    config = {
        "model": "resnet18-synthetic",
        "optimizer": {"name": "adamw", "lr": args.lr, "weight_decay": 0.05, "schedule": "cosine"},
        "batch_size": 128,
        "epochs": args.epochs,
        "seed": args.seed,
        "data": {"dataset": "synthetic-cifar", "augment": True},
    }
    with TrainingMonitor(config=config, system_interval=2.0) as monitor:
        print(
            f"{BOLD}{CYAN}trainboard demo{RESET}: training {config['model']} for {args.epochs} epochs "
            f"of {args.steps} steps, learning rate {args.lr:g}",
            flush=True,
        )
        step, loss, best = 0, 2.3, math.inf
        for epoch in range(args.epochs):
            bar = tqdm(
                range(args.steps),
                desc=f"epoch {epoch + 1}/{args.epochs}",
                unit="step",
                dynamic_ncols=True,
                mininterval=0.1,
            )
            for _ in bar:
                lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / (args.epochs * args.steps)))
                loss = max(0.02, loss * 0.997 + rng.gauss(0, 0.02))
                if diverges and epoch >= args.epochs // 2:
                    loss *= 1000 ** (1 / args.steps)  # x1000 an epoch: NaN within an epoch or two
                    if loss > 50:
                        loss = math.nan
                acc = 1.0 - min(1.0, loss / 2.5) if loss == loss else 0.0
                grad_norm = abs(rng.gauss(1.0, 0.3)) * (1 + 5 * (step % 97 == 0))
                monitor.log_metrics(
                    {"train/loss": loss, "train/accuracy": acc, "train/lr": lr, "train/grad_norm": grad_norm}, step=step
                )
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                step += 1
                time.sleep(args.delay)
                if loss != loss:
                    break
            bar.close()
            val = loss * 1.1 + rng.gauss(0, 0.01) if loss == loss else math.nan
            monitor.log_metrics(
                {"val/loss": val, "val/accuracy": 1.0 - min(1.0, val / 2.5) if val == val else 0.0}, step=step
            )
            colour = GREEN if val == val and val < best else YELLOW
            print(f"{colour}epoch {epoch + 1}: val/loss={val:.4f}{RESET}", flush=True)
            if val != val:
                print(
                    f"{RED}{BOLD}ERROR{RESET}: loss is NaN at step {step}: learning rate {args.lr:g} is too high "
                    f"(> {STABLE_LR:g})",
                    file=sys.stderr,
                    flush=True,
                )
                raise FloatingPointError(f"training diverged at step {step}: loss is NaN")
            if epoch == 1:
                print(
                    "UserWarning: dataloader is slower than the GPU (2 workers); consider num_workers=8",
                    file=sys.stderr,
                    flush=True,
                )
            path = args.checkpoints / f"{monitor.run_id}" / f"epoch_{epoch + 1:03d}.pt"
            save_checkpoint_file(path, step, val)
            ckpt = monitor.save_checkpoint(
                str(path), metrics={"val/loss": val}, metadata={"epoch": epoch + 1}, step=step
            )
            if val < best:
                best = val
                monitor.mark_best_checkpoint(ckpt)
        print(f"{GREEN}{BOLD}done{RESET}: best val/loss {best:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
