"""The SDK's rich value types (``trainboard.Histogram/Image/Text/Table``): what their wire form holds, and that
every cap or left-out value is said in ``truncated``, never silent."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import trainboard
from trainboard.wire.rich import MAX_TABLE_ROWS, MAX_TEXT_CHARS, image_size


def decode(payload: dict[str, object]) -> np.ndarray:
    image = payload["image"]
    assert isinstance(image, dict)
    return np.asarray(PILImage.open(io.BytesIO(base64.b64decode(image["data"]))))


def test_a_tensor_histogram_bins_every_finite_value_and_says_what_it_left_out() -> None:
    t = torch.arange(1000, dtype=torch.float32)
    t[:3] = float("nan")
    t[3] = float("inf")
    payload = trainboard.Histogram(t, num_bins=10).payload()
    body = payload["histogram"]
    assert len(body["counts"]) == 10 and len(body["bin_edges"]) == 11
    assert sum(body["counts"]) == 996 and body["nonfinite"] == 4
    assert body["bin_edges"][0] == 4.0 and body["bin_edges"][-1] == 999.0
    assert "4 NaN/infinite values left out" in payload["truncated"]


def test_a_tensor_changed_in_place_before_it_was_read_is_said_and_copy_avoids_it() -> None:
    t = torch.zeros(100)
    late = trainboard.Histogram(t)
    snap = trainboard.Histogram(t, copy=True)
    t.add_(5.0)  # the optimizer step
    late_payload, snap_payload = late.payload(), snap.payload()
    assert "changed in place" in late_payload["truncated"]
    assert late_payload["histogram"]["bin_edges"][0] == 4.5  # the later state, and it says so
    assert "truncated" not in snap_payload and snap_payload["histogram"]["bin_edges"][0] == -0.5


def test_numpy_and_python_histograms_match_numpy() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    counts, edges = np.histogram(values, bins=32)
    for given in (values, list(values)):
        body = trainboard.Histogram(given, num_bins=32).payload()["histogram"]
        assert np.allclose(body["bin_edges"], edges)
        assert abs(np.asarray(body["counts"]) - counts).max() <= 1  # float rounding at an edge
        assert sum(body["counts"]) == 10_000


def test_histogram_limits_and_given_bins() -> None:
    with pytest.raises(ValueError, match="1 to 512"):
        trainboard.Histogram([1.0], num_bins=513)
    with pytest.raises(ValueError, match="one more entry"):
        trainboard.Histogram(counts=[1, 2], bin_edges=[0, 1])
    body = trainboard.Histogram(np_histogram=np.histogram([1, 2, 2, 3], bins=2)).payload()["histogram"]
    assert body["counts"] == [1.0, 3.0] and body["bin_edges"] == [1.0, 2.0, 3.0]


def test_images_from_arrays_tensors_and_pil_are_png_with_their_pixels() -> None:
    hwc = np.zeros((4, 6, 3), dtype=np.uint8)
    hwc[:, :, 2] = 255
    chw_float = torch.zeros(3, 4, 6)
    chw_float[2] = 1.0
    for data in (hwc, chw_float, PILImage.fromarray(hwc)):
        payload = trainboard.Image(data, caption="blue").payload()
        pixels = decode(payload)
        assert payload["image"]["format"] == "png" and payload["caption"] == "blue"
        assert pixels.shape == (4, 6, 3) and (pixels[:, :, 2] == 255).all() and (pixels[:, :, :2] == 0).all()
    gray = decode(trainboard.Image(np.full((2, 3), 0.5)).payload())
    assert gray.shape == (2, 3) and (gray == 128).all()


def test_an_oversized_array_is_downscaled_and_says_so_bytes_are_checked() -> None:
    payload = trainboard.Image(np.zeros((10, 9000), dtype=np.uint8)).payload()
    assert "downscaled from 9000x10" in payload["truncated"]
    assert image_size(base64.b64decode(payload["image"]["data"])) == (3000, 4)
    with pytest.raises(ValueError, match="PNG or JPEG"):
        trainboard.Image(b"<svg/>")
    jpeg = io.BytesIO()
    PILImage.new("RGB", (5, 7)).save(jpeg, format="JPEG")
    payload = trainboard.Image(jpeg.getvalue()).payload()
    assert payload["image"]["format"] == "jpeg" and (payload["image"]["width"], payload["image"]["height"]) == (5, 7)


def test_text_is_capped_and_says_so() -> None:
    assert trainboard.Text("hi <b>").payload() == {"kind": "text", "text": {"text": "hi <b>"}}
    payload = trainboard.Text("x" * (MAX_TEXT_CHARS + 5)).payload()
    assert len(payload["text"]["text"]) == MAX_TEXT_CHARS and "1,000,005" in payload["truncated"]


def test_tables_infer_types_keep_nonfinite_as_tokens_and_say_what_they_cut() -> None:
    table = trainboard.Table(
        columns=["prompt", "reward", "n", "ok", ("id", "str")],
        rows=[["a", 1, 2, True, 7], ["b", math.nan, 3, False, None]],
    )
    body = table.payload()["table"]
    assert [c["type"] for c in body["columns"]] == ["str", "float", "int", "bool", "str"]
    assert body["rows"] == [["a", 1.0, 2, True, "7"], ["b", "NaN", 3, False, None]]
    big = trainboard.Table(columns=["i"], rows=[[i] for i in range(MAX_TABLE_ROWS + 10)]).payload()
    assert len(big["table"]["rows"]) == MAX_TABLE_ROWS and "10,000 of 10,010 rows" in big["truncated"]
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        trainboard.Table(columns=["a", "b"], rows=[[1]])
