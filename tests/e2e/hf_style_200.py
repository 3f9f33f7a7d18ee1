"""An HF ``Trainer``-style run for a 200-column terminal: a tqdm bar redrawn in place with ``\\r``, log dicts
printed above it, a line longer than the terminal, colours. Used by test_terminal_geometry.py."""

import time

from tqdm import tqdm

print("\x1b[1m***** Running training *****\x1b[0m", flush=True)
print("  Num examples = 96\n  Num Epochs = 3\n  Total optimization steps = 24", flush=True)
bar = tqdm(total=24, mininterval=0)
for step in range(1, 25):
    time.sleep(0.02)
    bar.update(1)
    if step % 8 == 0:
        lr = 5e-05 * (1 - step / 24)
        bar.write(str({"loss": round(2.0 / step, 4), "grad_norm": 1.2345, "learning_rate": lr, "epoch": step / 8.0}))
bar.close()
print("\x1b[33mWARNING\x1b[0m " + "a long line " * 20, flush=True)  # 248 columns: wraps once at 200
print({"train_runtime": 1.21, "train_samples_per_second": 79.3, "train_steps_per_second": 19.8, "train_loss": 0.42})
