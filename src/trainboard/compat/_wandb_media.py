"""The wandb shim's media, table and chart types.

``wandb.Image``, ``wandb.Histogram`` and ``wandb.Table`` are recorded as trainboard's rich values
(``trainboard.Image``/``Histogram``/``Table``: see ``trainboard.sdk.rich``): ``to_trainboard()`` gives the value
``log`` records at its step (an image or histogram as it was when made, a table as it is when logged). The other
media and custom charts are not kept: constructing one warns once by type name, and a value of one of these types
passed to ``log`` is counted and named in the run's closing note instead of being recorded. Their attributes
(``Table.add_data``, ``Image`` metadata) never become metrics.
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
    """``wandb.Image(data_or_path, caption=...)``: recorded as a ``trainboard.Image`` (numpy, torch, PIL, a path).
    ``boxes``, ``masks`` and ``classes`` are not kept (said once)."""

    def __init__(self, data_or_path: Any, mode: str | None = None, caption: str | None = None, **kwargs: Any) -> None:
        from trainboard.sdk.rich import Image as RichImage

        self._args, self._kwargs = (data_or_path,), kwargs
        for extra in ("boxes", "masks", "classes"):
            if kwargs.get(extra) is not None:
                warn_once(f"wandb.Image({extra}=...)", f"is not kept here: the image is recorded without its {extra}")
        self.caption = caption
        self._value: Any = None
        self._error: Exception | None = None
        try:  # read now (an array changed later must not change what was logged); a bad one never raises here
            data = data_or_path.convert(mode) if mode and hasattr(data_or_path, "convert") else data_or_path
            self._value = RichImage(data, caption=caption)
        except (TypeError, ValueError, OSError) as exc:
            self._error = exc  # said when logged: `wandb.log` warns and counts it as not recorded

    def to_trainboard(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


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
    """``wandb.Histogram(sequence, num_bins=64)`` or ``wandb.Histogram(np_histogram=(counts, edges))``: recorded as a
    ``trainboard.Histogram`` (at most 512 bins, as in wandb)."""

    def __init__(self, sequence: Any = None, np_histogram: Any = None, num_bins: int = 64) -> None:
        from trainboard.sdk.rich import Histogram as RichHistogram

        self._args, self._kwargs = (), {}
        self._value: Any = None
        self._error: Exception | None = None
        self.bins: Any = None
        try:  # a bad sequence never raises into the script: `wandb.log` warns and counts it as not recorded
            self._value = (
                RichHistogram(np_histogram=np_histogram)
                if np_histogram is not None
                else RichHistogram(sequence, num_bins=min(int(num_bins), 512))
            )
            self.bins = self._value.payload()["histogram"]["bin_edges"]
        except (TypeError, ValueError) as exc:
            self._error = exc

    def to_trainboard(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


class Table(Media):
    """``wandb.Table``: recorded as a ``trainboard.Table`` with its rows as they are when logged (and kept in memory:
    scripts read them back)."""

    def __init__(
        self,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        rows: list[list[Any]] | None = None,
        dataframe: Any = None,
        **kwargs: Any,
    ) -> None:
        self._args, self._kwargs = (), kwargs
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = dataframe.values.tolist()
        self.columns: list[str] = list(columns or [])
        self.data: list[list[Any]] = [list(r) for r in (data or rows or [])]

    def to_trainboard(self) -> Any:
        from trainboard.sdk.rich import Table as RichTable

        return RichTable(columns=[str(c) for c in self.columns], rows=self.data)

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
