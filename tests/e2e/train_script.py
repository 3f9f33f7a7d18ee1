"""A small real training script for the end-to-end tests, run through ``trainboard run``.

Prints a coloured banner, two tqdm bars (redrawn in place with ``\\r``), an ERROR line and a red WARNING line,
and logs metrics through the SDK (attached to the ``trainboard run`` run by ``$TRAINBOARD_RUN_ID``).
Usage: ``python train_script.py [STEPS_PER_EPOCH] [SECONDS_PER_STEP]``.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from trainboard import TrainingMonitor


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    print("\x1b[32mTRAINING START\x1b[0m model=tiny-mlp", flush=True)
    monitor = TrainingMonitor(config={"lr": 0.01, "model": {"layers": 2, "hidden": 64}}, system_metrics=False)
    loss = 1.0
    for epoch in range(2):
        # tqdm on stdout like the prints: one stream keeps their order (stdout and stderr are captured apart)
        for i in tqdm(range(steps), desc=f"epoch {epoch}", ncols=80, mininterval=0, file=sys.stdout):
            step = epoch * steps + i
            loss = 1.0 / (1.0 + step)
            monitor.log_metrics({"loss": loss, "accuracy": 1.0 - loss}, step=step)
            time.sleep(delay)
        print(f"epoch {epoch} done loss={loss:.4f}", flush=True)
    time.sleep(0.3)
    print("ERROR: simulated failure to read shard 7 (skipped)", file=sys.stderr, flush=True)
    time.sleep(0.3)
    print("\x1b[31mWARNING: learning rate is high\x1b[0m", flush=True)
    monitor.finish()
    print("TRAINING DONE", flush=True)


if __name__ == "__main__":
    main()
