"""The wandb shim's media, table and chart types: accepted so scripts run, never turned into metrics.

trainboard keeps no images, tables, histograms or custom charts from the shim yet, so constructing one warns once
by type name, and a value of one of these types passed to ``log`` is counted and named in the run's closing
note instead of being recorded. Their attributes (``Table.add_data``, ``Image`` metadata) never become metrics.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from trainboard.compat._wandb_notes import warn_once

__all__ = [
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "Media",
    "Molecule",
    "Object3D",
    "Plotly",
    "Table",
    "Video",
    "plot",
]

_NOT_KEPT = "is not recorded here (trainboard keeps no {what} from the wandb shim yet); logged values are skipped"


class Media:
    """Base of the types ``log`` accepts but does not record (one warning per type)."""

    _what = "media"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs
        warn_once(self.wandb_name(), _NOT_KEPT.format(what=self._what))

    def wandb_name(self) -> str:
        return f"wandb.{type(self).__name__}"


class Image(Media):
    _what = "images"


class Audio(Media):
    _what = "audio"


class Video(Media):
    _what = "video"


class Html(Media):
    _what = "HTML"


class Object3D(Media):
    _what = "3D objects"


class Molecule(Media):
    _what = "molecules"


class Plotly(Media):
    _what = "Plotly charts"


class Histogram(Media):
    _what = "histograms"


class Table(Media):
    """``wandb.Table``: rows are kept in memory (scripts read them back) but not recorded."""

    _what = "tables"

    def __init__(
        self,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        rows: list[list[Any]] | None = None,
        dataframe: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.columns: list[str] = list(columns or [])
        self.data: list[list[Any]] = [list(r) for r in (data or rows or [])]

    def add_data(self, *values: Any) -> None:
        self.data.append(list(values))

    def add_column(self, name: str, data: list[Any]) -> None:
        self.columns.append(name)
        for row, value in zip(self.data, data, strict=False):
            row.append(value)

    def get_column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.data]

    @property
    def ncols(self) -> int:
        return len(self.columns)


class _Chart(Media):
    """What a ``wandb.plot.*`` function returns."""

    _what = "custom charts"

    def __init__(self, name: str) -> None:
        self._name = name
        warn_once(f"wandb.plot.{name}", _NOT_KEPT.format(what=self._what))

    def wandb_name(self) -> str:
        return f"wandb.plot.{self._name}"


def _chart(name: str) -> Any:
    def make(*args: Any, **kwargs: Any) -> _Chart:
        return _Chart(name)

    make.__name__ = name
    make.__doc__ = f"``wandb.plot.{name}``: accepted, not recorded (one warning)."
    return make


#: ``wandb.plot``: each chart function returns a value ``log`` skips (named once).
plot = SimpleNamespace(
    **{
        name: _chart(name)
        for name in (
            "line",
            "line_series",
            "scatter",
            "bar",
            "histogram",
            "confusion_matrix",
            "pr_curve",
            "roc_curve",
            "plot_table",
        )
    }
)
