"""trainboard-confusion-matrix: a panel plugin (entry point ``confusion-matrix``) drawing a confusion matrix from a
logged table (``*confusion*`` keys) at a chosen step; its ES module is ``static/panel.js``."""

from trainboard.plugins.panels import PanelSpec

TRAINBOARD_API = 1

PANEL = PanelSpec(
    title="CONFUSION MATRIX",
    package=__name__,
    module="panel.js",
    rich=("*confusion*",),
    description="The confusion matrix of a logged table (actual, predicted, count) at a step",
)
