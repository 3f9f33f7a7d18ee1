"""``trainboard demo``: a server plus synthetic training runs through the real capture path."""
