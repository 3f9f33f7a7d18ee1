"""Starting training commands: under pseudo-terminals, output teed to the caller."""

from trainboard.server.launch.pty_runner import PtyRunResult, run_under_pty

__all__ = ["PtyRunResult", "run_under_pty"]
