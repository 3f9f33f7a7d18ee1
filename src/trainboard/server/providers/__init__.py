"""Execution backends behind one Protocol (``base``): where launched runs really run."""
