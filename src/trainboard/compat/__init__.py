"""Drop-in modules for users of other trackers: ``import trainboard.compat.wandb as wandb``."""
