"""Rich values logged at a step beside metrics: ``Histogram``, ``Image``, ``Text``, ``Table``.

``monitor.log_metrics({"loss": 0.3, "weights": trainboard.Histogram(w)}, step=10)`` records them; each is turned
into its wire form (:meth:`RichValue.payload`) on the SDK's rich-value thread (``sdk/rich_sender.py``), never on
the training loop where that can be avoided:

- a torch tensor is only referenced when logged; its histogram (``torch.histc``) or image is read on that thread.
  A tensor changed in place before it was read (an optimizer step on a parameter) is detected through torch's
  version counter and said in the value's ``truncated`` field (``Histogram(..., copy=True)`` snapshots it first);
- a numpy array's histogram is computed when the value is made (numpy has no version counter to tell a later
  in-place change); an image array is copied (images are small) and PNG-encoded on the thread.

Limits (``trainboard.wire.rich``): 512 bins; images 4 MiB encoded and 4096 px a side (larger arrays are
downscaled, said); text 1,000,000 characters; tables 10,000 rows x 64 columns and 8 MiB (what is cut is said in
``truncated``, never dropped silently). Wrong input types raise ``TypeError``/``ValueError`` when the value is
made; anything failing later is reported once on stderr and that value is skipped: training goes on.
Standard library only; numpy, torch and Pillow are used when the value given is one of theirs.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
import os
import struct
import sys
import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

from trainboard.sdk.encoding import safe_str
from trainboard.wire.floats import encode_float
from trainboard.wire.rich import (
    DEFAULT_BINS,
    MAX_BINS,
    MAX_CAPTION_CHARS,
    MAX_CELL_CHARS,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE,
    MAX_TABLE_BYTES,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_TEXT_CHARS,
    image_format,
    image_size,
)

__all__ = ["Histogram", "Image", "RichValue", "Table", "Text"]


class RichValue:
    """Base of the rich value types ``log_metrics`` accepts beside numbers."""

    kind: ClassVar[str] = ""

    def __init__(self, caption: str | None = None) -> None:
        self.caption = safe_str(str(caption))[:MAX_CAPTION_CHARS] if caption is not None else None
        self._notes: list[str] = []

    def _body(self) -> dict[str, Any]:
        raise NotImplementedError

    def payload(self) -> dict[str, Any]:
        """The value's wire form (without key and step): ``{"kind", kind: {...}, "caption", "truncated"}``.
        May do the heavy work (histogram of a tensor, PNG encoding); the SDK calls it off the training loop."""
        body = self._body()
        out: dict[str, Any] = {"kind": self.kind, self.kind: body}
        if self.caption:
            out["caption"] = self.caption
        if self._notes:
            out["truncated"] = "; ".join(self._notes)[:4000]
        return out


# ---- histograms -------------------------------------------------------------------------------------------------


def _numpy() -> Any:
    """numpy as the program loaded it: the SDK never loads it itself (it is not a dependency of the client); a
    numpy array or a torch tensor given to a rich value means it is there."""
    np = sys.modules.get("numpy")
    if np is None:
        raise TypeError("this value needs numpy: give a numpy array, a torch tensor or a PIL image")
    return np


def _is_torch(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _is_numpy(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype")


class Histogram(RichValue):
    """A distribution at a step (TensorBoard's histograms): bin edges and counts.

    ``Histogram(values, num_bins=64)`` bins a torch tensor (``torch.histc``, read off the loop), a numpy array
    (``numpy.histogram``) or a sequence of numbers between their finite min and max; NaN and infinities are left
    out and counted (said in ``truncated``). ``Histogram(np_histogram=(counts, bin_edges))`` or
    ``Histogram(counts=..., bin_edges=...)`` takes bins already computed. At most 512 bins.
    ``copy=True`` snapshots a tensor now (costs a copy on the loop) instead of reading it later.
    """

    kind = "histogram"

    def __init__(
        self,
        values: Any = None,
        num_bins: int = DEFAULT_BINS,
        *,
        counts: Any = None,
        bin_edges: Any = None,
        np_histogram: tuple[Any, Any] | None = None,
        caption: str | None = None,
        copy: bool = False,
    ) -> None:
        super().__init__(caption)
        if type(num_bins) is not int or not 1 <= num_bins <= MAX_BINS:
            raise ValueError(f"num_bins must be an integer from 1 to {MAX_BINS}, got {num_bins!r}")
        self.num_bins = num_bins
        self._tensor: Any = None
        self._version = 0
        self._bins: tuple[list[float], list[float], int] | None = None
        if np_histogram is not None:
            counts, bin_edges = np_histogram
        if counts is not None or bin_edges is not None:
            if counts is None or bin_edges is None:
                raise ValueError("give both counts and bin_edges")
            self._bins = _given_bins(counts, bin_edges)
        elif values is None:
            raise ValueError("Histogram needs values, or counts and bin_edges")
        elif _is_torch(values):
            tensor = values.detach()
            self._tensor = tensor.clone() if copy else tensor
            self._version = int(getattr(self._tensor, "_version", 0))
        elif _is_numpy(values):
            self._bins = _numpy_bins(values, num_bins)
        else:
            self._bins = _python_bins(values, num_bins)

    def _body(self) -> dict[str, Any]:
        if self._bins is None:
            self._bins = _torch_bins(self._tensor, self.num_bins)
            if int(getattr(self._tensor, "_version", 0)) != self._version:
                self._notes.append(
                    "the tensor was changed in place before its histogram was read: the bins show a later state "
                    "(Histogram(..., copy=True) snapshots it when logged)"
                )
            self._tensor = None
        edges, counts, nonfinite = self._bins
        if nonfinite:
            self._notes.append(f"{nonfinite} NaN/infinite values left out of the bins")
        return {"bin_edges": edges, "counts": counts, "nonfinite": nonfinite}


def _given_bins(counts: Any, edges: Any) -> tuple[list[float], list[float], int]:
    c = [float(x) for x in (counts.tolist() if hasattr(counts, "tolist") else counts)]
    e = [float(x) for x in (edges.tolist() if hasattr(edges, "tolist") else edges)]
    if not 1 <= len(c) <= MAX_BINS:
        raise ValueError(f"a histogram has 1 to {MAX_BINS} bins, got {len(c)}")
    if len(e) != len(c) + 1:
        raise ValueError(f"bin_edges must have one more entry than counts ({len(c) + 1}), got {len(e)}")
    if not all(math.isfinite(x) for x in e) or any(b < a for a, b in itertools.pairwise(e)):
        raise ValueError("bin_edges must be finite and ascending")
    if not all(math.isfinite(x) and x >= 0 for x in c):
        raise ValueError("counts must be finite and not negative")
    return e, c, 0


def _edges(lo: float, hi: float, bins: int) -> list[float]:
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / bins
    return [lo + i * width for i in range(bins)] + [hi]


def _torch_bins(tensor: Any, bins: int) -> tuple[list[float], list[float], int]:
    import torch

    t = tensor.reshape(-1)
    if t.is_complex():
        raise ValueError("a histogram of complex values")
    if not t.is_floating_point() or t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    if t.numel() == 0:
        return _edges(0.0, 0.0, bins), [0.0] * bins, 0
    lo, hi = (float(x) for x in torch.aminmax(t))
    nonfinite = 0
    if not (math.isfinite(lo) and math.isfinite(hi)):
        finite = t[torch.isfinite(t)]
        nonfinite = int(t.numel() - finite.numel())
        t = finite
        if t.numel() == 0:
            return _edges(0.0, 0.0, bins), [0.0] * bins, nonfinite
        lo, hi = (float(x) for x in torch.aminmax(t))
    edges = _edges(lo, hi, bins)
    counts = torch.histc(t, bins=bins, min=edges[0], max=edges[-1])
    return edges, [float(x) for x in counts.tolist()], nonfinite


def _numpy_bins(array: Any, bins: int) -> tuple[list[float], list[float], int]:
    np = _numpy()
    a = np.asarray(array).reshape(-1)
    if np.iscomplexobj(a):
        raise ValueError("a histogram of complex values")
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    nonfinite = 0
    if a.size:
        lo, hi = float(a.min()), float(a.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            mask = np.isfinite(a)
            nonfinite = int(a.size - int(mask.sum()))
            a = a[mask]
    if a.size == 0:
        return _edges(0.0, 0.0, bins), [0.0] * bins, nonfinite
    edges = _edges(float(a.min()), float(a.max()), bins)
    counts, _ = np.histogram(a, bins=bins, range=(edges[0], edges[-1]))
    return edges, [float(x) for x in counts.tolist()], nonfinite


def _python_bins(values: Any, bins: int) -> tuple[list[float], list[float], int]:
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Histogram values must be numbers, a numpy array or a torch tensor: {exc}") from None
    finite = [v for v in numbers if math.isfinite(v)]
    nonfinite = len(numbers) - len(finite)
    if not finite:
        return _edges(0.0, 0.0, bins), [0.0] * bins, nonfinite
    edges = _edges(min(finite), max(finite), bins)
    lo, width = edges[0], (edges[-1] - edges[0]) / bins
    counts = [0.0] * bins
    for v in finite:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    return edges, counts, nonfinite


# ---- images -----------------------------------------------------------------------------------------------------


class Image(RichValue):
    """An image at a step: a numpy array (HW, HWC or CHW; uint8, or floats in [0, 1] — or [0, 255] when larger
    values occur), a torch tensor (the same layouts), a ``PIL.Image``, PNG/JPEG bytes, or the path of a PNG/JPEG
    file. Arrays are PNG-encoded off the loop; ``format="jpeg"`` (arrays and PIL images, needs Pillow) for photos.
    At most 4 MiB encoded and 4096 px a side: a larger array is downscaled by an integer stride (said in
    ``truncated``); encoded bytes over the cap are refused (``ValueError``)."""

    kind = "image"

    def __init__(self, data: Any, caption: str | None = None, *, format: str = "png") -> None:
        super().__init__(caption)
        if format not in ("png", "jpeg"):
            raise ValueError(f"format must be 'png' or 'jpeg', got {format!r}")
        self.format = format
        self._bytes: bytes | None = None
        self._array: Any = None
        self._pil: Any = None
        if isinstance(data, bytes | bytearray | memoryview):
            self._bytes = _checked_bytes(bytes(data))
        elif isinstance(data, str | os.PathLike):
            with open(data, "rb") as fh:
                self._bytes = _checked_bytes(fh.read(MAX_IMAGE_BYTES + 1))
        elif type(data).__module__.startswith("PIL."):
            self._pil = data.copy()
        elif _is_torch(data):
            self._array = _hwc_uint8(data.detach().cpu().numpy(), self._notes)
        elif _is_numpy(data):
            self._array = _hwc_uint8(data, self._notes)
        else:
            raise TypeError(f"Image takes an array, a tensor, a PIL image, PNG/JPEG bytes or a path; got {type(data)}")

    def _encoded(self) -> bytes:
        if self._bytes is not None:
            return self._bytes
        if self._pil is not None:
            pil = self._pil
            if max(pil.size) > MAX_IMAGE_SIDE:
                before = pil.size
                pil.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
                self._notes.append(f"downscaled from {before[0]}x{before[1]} to {pil.size[0]}x{pil.size[1]}")
            buf = io.BytesIO()
            if self.format == "jpeg" and pil.mode not in ("RGB", "L"):
                pil = pil.convert("RGB")
            pil.save(buf, format="JPEG" if self.format == "jpeg" else "PNG")
            data = buf.getvalue()
        elif self.format == "jpeg":
            from PIL import Image as PILImage

            arr = self._array
            buf = io.BytesIO()
            PILImage.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).convert("RGB").save(buf, format="JPEG")
            data = buf.getvalue()
        else:
            data = png_bytes(self._array)
        return _checked_bytes(data)

    def _body(self) -> dict[str, Any]:
        data = self._encoded()
        self._array = self._pil = None
        size = image_size(data) or (0, 0)
        fmt = image_format(data) or "png"
        return {"format": fmt, "width": size[0], "height": size[1], "data": base64.b64encode(data).decode("ascii")}


def _checked_bytes(data: bytes) -> bytes:
    if image_format(data) is None:
        raise ValueError("image bytes must be PNG or JPEG")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"an image is at most {MAX_IMAGE_BYTES} bytes encoded, got {len(data)} or more")
    size = image_size(data)
    if size is None or max(size) > MAX_IMAGE_SIDE or min(size) < 1:
        raise ValueError(f"an image is 1 to {MAX_IMAGE_SIDE} pixels a side, got {size}")
    return data


def _hwc_uint8(data: Any, notes: list[str]) -> Any:
    """An (H, W, C) uint8 copy of an image array; C is 1, 3 or 4."""
    np = _numpy()
    a = np.asarray(data)
    if a.ndim == 2:
        a = a[:, :, None]
    elif a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[2] not in (1, 3, 4):
        a = a.transpose(1, 2, 0)  # CHW -> HWC
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"an image array is HW, HWC or CHW with 1, 3 or 4 channels; got shape {a.shape}")
    side = max(a.shape[0], a.shape[1])
    if side > MAX_IMAGE_SIDE:
        stride = -(-side // MAX_IMAGE_SIDE)
        before = a.shape
        a = a[::stride, ::stride]
        notes.append(f"downscaled from {before[1]}x{before[0]} to {a.shape[1]}x{a.shape[0]} (every {stride}th pixel)")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a).copy()
    if a.dtype == np.bool_:
        return (a.astype(np.uint8) * 255).copy()
    f = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    if a.dtype.kind == "f" and f.size and float(f.max()) <= 1.0:
        f = f * 255.0
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def png_bytes(array: Any) -> bytes:
    """A PNG file of an (H, W, C) uint8 array, C in 1..4 (stdlib zlib: no Pillow needed)."""
    np = _numpy()
    height, width, channels = array.shape
    color = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = np.ascontiguousarray(array).reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1).tobytes()

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


# ---- text and tables --------------------------------------------------------------------------------------------


class Text(RichValue):
    """A text at a step (an LLM's generation, a sample transcript). Longer than 1,000,000 characters: cut, said."""

    kind = "text"

    def __init__(self, text: str, caption: str | None = None) -> None:
        super().__init__(caption)
        value = safe_str(str(text)).replace("\x00", "\ufffd")
        if len(value) > MAX_TEXT_CHARS:
            self._notes.append(f"cut to the first {MAX_TEXT_CHARS:,} of {len(value):,} characters")
            value = value[:MAX_TEXT_CHARS]
        self.text = value

    def _body(self) -> dict[str, Any]:
        return {"text": self.text}


_TYPES = ("bool", "int", "float", "str")


def _cell_type(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "bool"
    if isinstance(v, int) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu"):
        return "int"
    if isinstance(v, float) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") == "f"):
        return "float"
    return "str"


class Table(RichValue):
    """Rows of typed columns at a step (prompt / generation / reward ...).

    ``Table(columns=["prompt", "reward"], rows=[["hi", 0.5], ...])``; a column's type (str, int, float, bool) is
    given as ``("reward", "float")`` or inferred from its values (ints and floats mixed: float; anything else is
    shown as its ``str``); ``None`` is an empty cell. ``Table(dataframe=df)`` takes a pandas DataFrame. At most
    10,000 rows x 64 columns and 8 MiB as JSON: the rows and columns past the cap are left out and that is said in
    the value's ``truncated`` field; a cell over 100,000 characters is cut (said).
    """

    kind = "table"

    def __init__(
        self,
        columns: Sequence[str | tuple[str, str]] | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
        *,
        data: Sequence[Sequence[Any]] | None = None,
        dataframe: Any = None,
        caption: str | None = None,
    ) -> None:
        super().__init__(caption)
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            rows = dataframe.values.tolist()
        rows = [list(r) for r in (rows if rows is not None else data or [])]
        if not columns:
            width = max((len(r) for r in rows), default=0)
            columns = [f"c{i}" for i in range(width)]
        names: list[str] = []
        given: list[str | None] = []
        for col in columns:
            if isinstance(col, tuple):
                name, kind = col
                if kind not in _TYPES:
                    raise ValueError(f"column type must be one of {', '.join(_TYPES)}, got {kind!r}")
                names.append(safe_str(str(name))[:256])
                given.append(kind)
            else:
                names.append(safe_str(str(col))[:256])
                given.append(None)
        if len(names) > MAX_TABLE_COLUMNS:
            self._notes.append(f"kept the first {MAX_TABLE_COLUMNS} of {len(names)} columns")
            names, given = names[:MAX_TABLE_COLUMNS], given[:MAX_TABLE_COLUMNS]
        if len(rows) > MAX_TABLE_ROWS:
            self._notes.append(f"kept the first {MAX_TABLE_ROWS:,} of {len(rows):,} rows")
            rows = rows[:MAX_TABLE_ROWS]
        for i, row in enumerate(rows):
            if len(row) != len(names) and len(row) <= MAX_TABLE_COLUMNS:
                raise ValueError(f"row {i} has {len(row)} cells for {len(names)} columns")
        self.columns = [
            {"name": n, "type": g or _infer([r[i] for r in rows])}
            for i, (n, g) in enumerate(zip(names, given, strict=True))
        ]
        self._cut_cells = 0
        self.rows = [[self._cell(r[i], c["type"]) for i, c in enumerate(self.columns)] for r in rows]
        if self._cut_cells:
            self._notes.append(f"{self._cut_cells} cells cut to {MAX_CELL_CHARS:,} characters")

    def _cell(self, v: Any, kind: str) -> Any:
        if v is None:
            return None
        if hasattr(v, "item") and not isinstance(v, str | bytes):
            try:
                v = v.item()
            except (TypeError, ValueError):
                pass
        if kind == "bool" and isinstance(v, bool):
            return v
        if kind == "int" and isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2**53 - 1:
            return v
        if kind == "float" and isinstance(v, int | float) and not isinstance(v, bool):
            return encode_float(float(v))
        text = safe_str(str(v)).replace("\x00", "\ufffd")
        if len(text) > MAX_CELL_CHARS:
            self._cut_cells += 1
            text = text[:MAX_CELL_CHARS]
        return text

    def _body(self) -> dict[str, Any]:
        rows = self.rows
        size = len(json.dumps(rows, separators=(",", ":")))
        if size > MAX_TABLE_BYTES:
            keep = len(rows)
            while keep and size > MAX_TABLE_BYTES:
                keep = keep * MAX_TABLE_BYTES // size * 9 // 10
                size = len(json.dumps(rows[:keep], separators=(",", ":")))
            self._notes.append(f"kept the first {keep:,} of {len(rows):,} rows: the table is at most 8 MiB as JSON")
            rows = rows[:keep]
        return {"columns": self.columns, "rows": rows}


def _infer(values: list[Any]) -> str:
    kinds = {_cell_type(v) for v in values} - {None}
    if not kinds:
        return "str"
    if len(kinds) == 1:
        return kinds.pop()  # type: ignore[return-value]
    if kinds <= {"int", "float"}:
        return "float"
    return "str"
