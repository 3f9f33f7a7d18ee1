"""``trainboard import neptune`` on Parquet files in neptune-exporter's documented schema (its ``model.py::SCHEMA``,
README "Parquet schema"; files ``<data path>/<project>/<run>_part_<N>.parquet``), written with pyarrow as the
exporter writes them, into a real ``trainboard serve`` through the real CLI: float series exact (steps, times,
every float64 bit), single values as config, tags, description, failed state; the rest counted; importing again
adds nothing."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_import_export import cli, history, runs
from tests.support.servers import ServerProcess

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SCHEMA = pa.schema(
    [
        ("project_id", pa.string()),
        ("run_id", pa.string()),
        ("attribute_path", pa.string()),
        ("attribute_type", pa.string()),
        ("step", pa.decimal128(18, 6)),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("int_value", pa.int64()),
        ("float_value", pa.float64()),
        ("string_value", pa.string()),
        ("bool_value", pa.bool_()),
        ("datetime_value", pa.timestamp("ms", tz="UTC")),
        ("string_set_value", pa.list_(pa.string())),
        ("file_value", pa.struct([("path", pa.string())])),
        (
            "histogram_value",
            pa.struct([("type", pa.string()), ("edges", pa.list_(pa.float64())), ("values", pa.list_(pa.float64()))]),
        ),
    ]
)
PROJECT = "my-org/vision"
T0 = 1_760_000_000_000  # ms
LOSS = [1.0, 0.5, 1 / 3, 1e-300, math.nan, math.inf, -0.0, 2.0**53 + 2]
ACC = [0.1 + 0.2, 0.7]


def when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def row(run: str, path: str, kind: str, **values: Any) -> dict[str, Any]:
    return {"project_id": PROJECT, "run_id": run, "attribute_path": path, "attribute_type": kind} | values


def single(run: str, path: str, kind: str, value: Any) -> dict[str, Any]:
    column = {"string_set": "string_set_value", "datetime": "datetime_value"}.get(kind, f"{kind}_value")
    return row(run, path, kind, **{column: value})


def series_rows(run: str, path: str, values: list[float], steps: list[Decimal]) -> list[dict[str, Any]]:
    return [
        row(run, path, "float_series", step=s, timestamp=when(T0 + 1000 * i + 7), float_value=v)
        for i, (s, v) in enumerate(zip(steps, values, strict=True))
    ]


def write_parts(folder: Path, run: str, parts: list[list[dict[str, Any]]]) -> None:
    """As neptune-exporter's ParquetWriter: snappy, one file per part, under the sanitized project id."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, rows in enumerate(parts):
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        with pq.ParquetWriter(folder / f"{run}_part_{n}.parquet", SCHEMA, compression="snappy") as writer:
            writer.write_table(table)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    data = tmp_path / "exports" / "data"
    folder = data / "my-org_vision"
    loss_steps = [Decimal(s) for s in (0, 1, 2, 10, 11, 12, 100, 10**11)]  # (decimal(18, 6): 12 digits)
    write_parts(
        folder,
        "VIS-1",
        [
            [
                single("VIS-1", "sys/creation_time", "datetime", when(T0)),
                single("VIS-1", "sys/tags", "string_set", ["resnet", "baseline"]),
                single("VIS-1", "sys/description", "string", "first try"),
                single("VIS-1", "sys/failed", "bool", False),
                single("VIS-1", "sys/name", "string", "resnet-sweep"),
                single("VIS-1", "parameters/lr", "float", 0.001),
                single("VIS-1", "parameters/epochs", "int", 30),
                single("VIS-1", "parameters/optimizer", "string", "adam"),
                single("VIS-1", "parameters/amp", "bool", True),
                *series_rows("VIS-1", "train/loss", LOSS[:4], loss_steps[:4]),
                row("VIS-1", "train/log", "string_series", step=Decimal(0), timestamp=when(T0), string_value="hi"),
                row("VIS-1", "model/weights", "file", file_value={"path": "my-org_vision/VIS-1/weights.pt"}),
            ],
            [
                *series_rows("VIS-1", "train/loss", LOSS[4:], loss_steps[4:]),
                *series_rows("VIS-1", "val/acc", ACC, [Decimal("0.5"), Decimal(1)]),
                row(
                    "VIS-1",
                    "train/grads",
                    "histogram_series",
                    step=Decimal(1),
                    timestamp=when(T0),
                    histogram_value={"type": "COUNTING", "edges": [0.0, 1.0], "values": [3.0]},
                ),
            ],
        ],
    )
    write_parts(
        folder,
        "VIS-2",
        [
            [
                single("VIS-2", "sys/failed", "bool", True),
                single("VIS-2", "sys/group_tags", "string_set", ["sweep-a"]),
                *series_rows("VIS-2", "train/loss", [0.25, 0.125], [Decimal(0), Decimal(1)]),
            ]
        ],
    )
    unfinished = [[single("VIS-3", "sys/failed", "bool", False), *series_rows("VIS-3", "x", [1.0], [Decimal(0)])]] * 2
    write_parts(folder, "VIS-3", unfinished)
    (folder / "VIS-3_part_0.parquet").rename(folder / "VIS-3_part_0.parquet.tmp")  # (killed before the last rename)
    return data


def same(a: list[Any], b: list[Any]) -> bool:
    return [repr(float(x)) for x in a] == [repr(float(x)) for x in b]


def test_import_neptune_exporter_parquet(server: ServerProcess, export: Path) -> None:
    first = cli(server, "import", "neptune", str(export))
    assert first.returncode == 0, first.stderr
    line = next(x for x in first.stdout.splitlines() if x.startswith("VIS-1:"))
    for part in ("1 text series values", "1 files", "1 histograms", "1 points at fractional steps"):
        assert part in line, line
    assert first.stdout.splitlines()[-1] == "not imported: 1 runs whose export did not finish (no part_0)"

    got = runs(server)
    one, two = got["VIS-1"], got["VIS-2"]
    assert one["project"] == PROJECT and one["status"] == "completed" and two["status"] == "failed"
    config = one["config"]
    assert config["parameters/lr"] == 0.001 and config["parameters/epochs"] == 30
    assert config["parameters/optimizer"] == "adam" and config["parameters/amp"] is True
    assert config["neptune"]["sys"]["sys/name"] == "resnet-sweep"
    assert config["import_skipped"] == {
        "text series values": 1,
        "files": 1,
        "histograms": 1,
        "points at fractional steps (see --step-multiplier)": 1,
    }
    assert set(one["tags"]) == {"resnet", "baseline"} and two["tags"] == ["sweep-a"]
    assert one["notes"] == "first try"
    assert datetime.fromisoformat(one["start_time"]).timestamp() == T0 / 1000

    loss = history(server, one["id"])["train/loss"]
    assert loss["step"] == [0, 1, 2, 10, 11, 12, 100, 10**11]
    assert same(loss["value"], LOSS)  # bit for bit: NaN, inf, -0.0, 1e-300, 2**53 + 2
    assert [round(t * 1000) for t in loss["timestamp"]] == [T0 + 1000 * i + 7 for i in (0, 1, 2, 3, 0, 1, 2, 3)]
    acc = history(server, one["id"])["val/acc"]
    assert acc["step"] == [1] and same(acc["value"], [0.7])  # step 0.5 counted, not rounded
    assert history(server, two["id"])["train/loss"]["value"] == [0.25, 0.125]

    again = cli(server, "import", "neptune", str(export))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("0 values new") == 2, again.stdout
    assert set(runs(server)) == set(got)
    assert history(server, one["id"])["train/loss"]["count"] == len(LOSS)


def test_import_neptune_step_multiplier(server: ServerProcess, export: Path) -> None:
    done = cli(server, "import", "neptune", str(export), "--step-multiplier", "2", "--project", "scaled")
    assert done.returncode == 0, done.stderr
    run = runs(server)["VIS-1"]
    assert run["project"] == "scaled" and "import_skipped" in run["config"]
    assert history(server, run["id"])["val/acc"]["step"] == [1, 2]
    assert "fractional" not in done.stdout
