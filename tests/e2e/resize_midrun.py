"""A run whose terminal is resized from 200 to 100 columns while it runs (used by test_terminal_geometry.py):
narrow output first, then, after SIGWINCH, a bar at the new width and a line that wraps at it."""

import signal
import time

from tqdm import tqdm

resized: list[int] = []
signal.signal(signal.SIGWINCH, lambda *_: resized.append(1))
print("epoch 1 " + "-" * 60, flush=True)
for _ in tqdm(range(10), ncols=60, mininterval=0):
    time.sleep(0.01)
print("ready for a resize", flush=True)
deadline = time.monotonic() + 60
while not resized and time.monotonic() < deadline:
    time.sleep(0.01)
print("epoch 2 " + "=" * 60, flush=True)
for _ in tqdm(range(10), mininterval=0):  # as wide as the terminal is now
    time.sleep(0.01)
print("after: " + "wraps at the new width " * 6, flush=True)
time.sleep(0.5)
