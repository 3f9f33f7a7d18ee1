"""``trainboard ls --filter EXPR --sort KEY`` against a real server: the runs table's query from the shell, and
a bad expression or sort key as a message with a caret under the position the server names."""

from __future__ import annotations

import json

import httpx
from tests.support.cli import cli
from tests.support.servers import ServerProcess


def test_ls_filters_and_sorts_like_the_runs_table(server: ServerProcess, http: httpx.Client) -> None:
    runs = {"slow": (1e-2, 0.9), "mid": (1e-3, 0.5), "best": (3e-4, 0.2), "worse": (1e-4, 0.7)}
    for name, (lr, loss) in runs.items():
        http.post("/api/runs", json={"id": name, "name": name, "project": "q", "config": {"lr": lr}})
        http.post(f"/api/runs/{name}/metrics", json={"points": [{"step": 1, "metrics": {"val/loss": loss}}]})
    env = server.env() | {"COLUMNS": "200"}

    def ids(*args: str) -> list[str]:
        done = cli("ls", "--json", "--project", "q", *args, env=env)
        assert done.returncode == 0, done.stderr
        return [r["id"] for r in json.loads(done.stdout)["runs"]]

    wanted = sorted((n for n, (lr, _) in runs.items() if lr <= 1e-3), key=lambda n: runs[n][1])
    assert ids("--filter", "config.lr <= 1e-3", "--sort", "val/loss") == wanted
    assert ids("--sort", "-val/loss", "--limit", "2") == ["slow", "worse"]
    table = cli("ls", "--filter", "val/loss < 0.6", "--sort", "config.lr", "--wide", env=env)
    assert table.returncode == 0 and "2 runs" in table.stdout
    assert table.stdout.index("best") < table.stdout.index("mid")


def test_a_bad_filter_or_sort_is_a_message_with_its_position(server: ServerProcess) -> None:
    env = server.env() | {"COLUMNS": "200"}
    bad = cli("ls", "--filter", "config.lr <= and x", env=env)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and bad.stdout == ""
    lines = bad.stderr.splitlines()
    assert lines[0].startswith("error: --filter: ") and "position 13" in lines[0], bad.stderr
    assert lines[1] == "  config.lr <= and x" and lines[2] == "  " + " " * 13 + "^"
    sort = cli("ls", "--sort", "-tags", env=env)
    assert sort.returncode == 1 and "--sort: runs cannot be sorted by tags" in sort.stderr
    assert "Traceback" not in sort.stderr
