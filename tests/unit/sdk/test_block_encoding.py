"""The SDK's columnar block encoding is exactly what the server's parser reads back."""

from __future__ import annotations

import json
import math

from trainboard.sdk.pipeline import _BlockBuilder
from trainboard.server.api.metric_parse import parse_batch


def test_blocks_round_trip_through_the_server_parser() -> None:
    b = _BlockBuilder()
    t0 = 1.7e9  # epoch seconds (the server refuses times outside its documented range)
    b.add(1, 0, t0 + 10.0, {"loss": 1.5, "acc": 0})
    b.add(2, 1, t0 + 11.0, {"loss": math.nan, "acc": 1})
    b.add(3, 2, t0 + 12.0, {"loss": math.inf})  # a new key set starts a new block
    b.add(4, 3, t0 + 13.0, {"big": 10**400})  # an int beyond float range becomes inf, not an error
    body = json.dumps({"stream": "s", "blocks": b.take()}).encode()
    stream, points, blocks = parse_batch(body)
    assert stream == "s" and points == []
    assert [blk.keys for blk in blocks] == [["loss", "acc"], ["loss"], ["big"]]
    first = blocks[0]
    assert first.steps.tolist() == [0, 1] and first.seqs is not None and first.seqs.tolist() == [1, 2]
    assert first.values[0].tolist() == [1.5, 0.0] and math.isnan(first.values[1][0])
    assert blocks[1].values[0][0] == math.inf and blocks[2].values[0][0] == math.inf
    assert first.times.tolist() == [t0 + 10.0, t0 + 11.0]


def test_keys_with_lone_surrogates_are_sent_with_replacement_characters() -> None:
    b = _BlockBuilder()
    b.add(1, 0, 1.7e9, {"loss\udc80": 1.0})
    body = json.dumps({"stream": "s", "blocks": b.take()})
    body.encode("utf-8")  # would raise with a lone surrogate
    _stream, _points, blocks = parse_batch(body.encode())
    assert blocks[0].keys == ["loss\ufffd"]
