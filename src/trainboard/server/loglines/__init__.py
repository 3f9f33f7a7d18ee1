"""Terminal-semantics line splitting and level detection for captured output (pure, no I/O).

`LineSplitter` (one per source) turns raw bytes into the final `Line`s a terminal shows;
`LevelDetector` / `classify` give each line a `Level` by the `LEVEL_RULES` table.
"""

from trainboard.server.loglines.levels import LEVEL_RULES, LevelDetector, LevelRule, classify
from trainboard.server.loglines.line import Level, Line
from trainboard.server.loglines.terminal import LineSplitter

__all__ = ["LEVEL_RULES", "Level", "LevelDetector", "LevelRule", "Line", "LineSplitter", "classify"]
