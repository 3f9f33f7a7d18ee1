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


def test_ls_says_how_many_it_shows_of_how_many_and_shows_the_sort_column(
    server: ServerProcess, http: httpx.Client
) -> None:
    for i in range(12):
        rid = f"run-{i:02d}"
        http.post("/api/runs", json={"id": rid, "name": rid, "project": "many", "config": {"opt": {"lr": i / 1000}}})
        http.post(f"/api/runs/{rid}/metrics", json={"points": [{"step": 1, "metrics": {"val/acc": i / 7}}]})
    env = server.env() | {"COLUMNS": "200"}

    page = cli("ls", "--project", "many", "--limit", "5", env=env)
    assert page.returncode == 0, page.stderr
    assert "showing 5 of 12 runs, newest first (--limit N or --all for more)" in page.stdout

    everything = cli("ls", "--project", "many", "--all", "--json", env=env)
    assert everything.returncode == 0, everything.stderr
    assert sorted(r["id"] for r in json.loads(everything.stdout)["runs"]) == [f"run-{i:02d}" for i in range(12)]
    assert "12 runs" in cli("ls", "--project", "many", "--all", env=env).stdout

    by_acc = cli("ls", "--project", "many", "--sort", "-val/acc", "--limit", "3", env=env)
    assert by_acc.returncode == 0, by_acc.stderr
    lines = by_acc.stdout.splitlines()
    assert "showing 3 of 12 runs, sorted by -val/acc" in lines[0]
    header = next(line for line in lines if "NAME" in line)
    assert header.rstrip().endswith("EXIT  VAL/ACC")  # the sort key's column, last
    rows = [line for line in lines if "run-" in line]
    assert [r.split()[-1] for r in rows] == ["1.57143", "1.42857", "1.28571"]  # 11/7, 10/7, 9/7 to 6 digits

    by_lr = cli("ls", "--project", "many", "--sort", "config.opt.lr", "--limit", "2", env=env)
    assert by_lr.returncode == 0, by_lr.stderr
    assert [line.split()[-1] for line in by_lr.stdout.splitlines() if "run-" in line] == ["0", "0.001"]
