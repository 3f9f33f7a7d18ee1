"""trainboard: a self-hosted, real-time dashboard for ML training runs."""
from trainboard._version import __version__

__all__ = ["__version__"]
