"""Rich values per step (histograms, images, text, tables): the limits both sides apply, and the image header reader.

One definition each: the SDK builds values within these limits (saying in a value's ``truncated`` what it cut),
the server refuses anything over them with a 422 naming the field. Standard library only.
"""

from __future__ import annotations

import struct
from typing import Final

#: The kinds of rich value.
KINDS: Final = ("histogram", "image", "text", "table")

#: Histograms: at most this many bins (``num_bins`` defaults to 64).
MAX_BINS: Final = 512
DEFAULT_BINS: Final = 64

#: Images: encoded PNG or JPEG of at most 4 MiB, at most 4096 pixels a side (larger arrays are downscaled by the
#: SDK, which says so in ``truncated``).
MAX_IMAGE_BYTES: Final = 4 * 1024 * 1024
MAX_IMAGE_SIDE: Final = 4096
IMAGE_FORMATS: Final = ("png", "jpeg")
CONTENT_TYPES: Final = {"png": "image/png", "jpeg": "image/jpeg"}

#: Text: at most this many characters (longer text is cut by the SDK, which says so).
MAX_TEXT_CHARS: Final = 1_000_000
#: Captions of images and other values.
MAX_CAPTION_CHARS: Final = 1024

#: Tables: at most 10,000 rows x 64 columns and 8 MiB as JSON; rows past the cap are left out by the SDK (said).
MAX_TABLE_ROWS: Final = 10_000
MAX_TABLE_COLUMNS: Final = 64
MAX_TABLE_BYTES: Final = 8 * 1024 * 1024
MAX_CELL_CHARS: Final = 100_000
COLUMN_TYPES: Final = ("str", "int", "float", "bool")

#: Values in one upload request at most.
MAX_VALUES_PER_REQUEST: Final = 256


def image_format(data: bytes) -> str | None:
    """``"png"`` or ``"jpeg"`` from the file's signature; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG's IHDR or a JPEG's start-of-frame marker; None when not found."""
    fmt = image_format(data)
    if fmt == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if fmt != "jpeg":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None
