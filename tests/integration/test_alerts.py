"""Alerts end to end on a real ``trainboard serve``: rules through the API, metrics through the API, the
notifications received by real servers on loopback (HTTP for json:// and signed webhooks, aiosmtpd for
e-mail)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.support.alert_receivers import http_receiver, smtp_receiver
from tests.support.servers import ServerProcess, free_port
from websockets.sync.client import connect


@pytest.fixture
def server(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A real server; started with a long timeout (a loaded machine takes a while to migrate and start)."""
    made: ServerProcess = make_server(start=False)
    return made.start(timeout=120)


def make_run(http: httpx.Client, name: str, project: str = "alerts") -> str:
    resp = http.post("/api/runs", json={"name": name, "project": project})
    assert resp.status_code in (200, 201), resp.text
    return str(resp.json()["id"])


def log(http: httpx.Client, run_id: str, points: list[dict[str, Any]]) -> None:
    resp = http.post(f"/api/runs/{run_id}/metrics", json={"points": points})
    assert resp.status_code < 300, resp.text


def alerts_of(http: httpx.Client, run_id: str, **params: Any) -> list[dict[str, Any]]:
    resp = http.get("/api/alerts", params={"run_id": run_id, **params})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["alerts"])


def wait_alerts(
    http: httpx.Client, run_id: str, pred: Any, timeout: float = 20.0, **params: Any
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = alerts_of(http, run_id, **params)
        if pred(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"alerts never matched: {found}")


def test_nan_fires_once_resolves_once_and_reaches_webhook_signed_webhook_and_email(
    server: ServerProcess, http: httpx.Client
) -> None:
    with http_receiver() as hook, smtp_receiver() as smtp:
        channels = [
            f"json://{hook.url}/apprise",
            f"webhook+http://{hook.url}/signed?secret=s3cret",
            smtp.url(),
        ]
        rule = http.post(
            "/api/alert-rules",
            json={
                "name": "loss NaN",
                "project": "alerts",
                "condition": {"kind": "nan", "key": "loss"},
                "channels": channels,
            },
        )
        assert rule.status_code == 201, rule.text
        shown = rule.json()["channels"]
        assert "s3cret" not in str(shown) and all("…" in c or c.endswith(hook.url) for c in shown[:2])

        run_id = make_run(http, "nan-run")
        log(http, run_id, [{"step": s, "metrics": {"loss": 1.0 / s}} for s in range(1, 500)])
        log(http, run_id, [{"step": 500, "metrics": {"loss": "NaN"}}, {"step": 501, "metrics": {"loss": "NaN"}}])
        log(http, run_id, [{"step": 502, "metrics": {"loss": "NaN"}}])  # still NaN: no second alert

        plain = hook.wait_for(lambda r: r.path == "/apprise")
        assert "FIRING" in plain.json()["title"] and "loss is NaN at step 500" in plain.json()["message"]
        signed = hook.wait_for(lambda r: r.path == "/signed")
        expected = "sha256=" + hmac.new(b"s3cret", signed.body, hashlib.sha256).hexdigest()
        assert signed.headers["X-Trainboard-Signature"] == expected
        assert signed.json()["alert"]["step"] == 500 and signed.json()["run"]["id"] == run_id
        mail = smtp.wait_for(lambda m: b"loss is NaN" in m.data)
        assert mail.recipients == ["ops@example.com"]

        log(http, run_id, [{"step": 503, "metrics": {"loss": 0.5}}])
        resolved = wait_alerts(http, run_id, lambda a: a and a[0]["state"] == "resolved")
        assert len(resolved) == 1  # one episode: fired at step 500, resolved at 503
        hook.wait_for(lambda r: r.path == "/apprise" and "RESOLVED" in r.json()["title"])
        deliveries = wait_alerts(
            http, run_id, lambda a: len([d for d in a[0]["deliveries"] if d["status"] == "sent"]) == 6
        )[0]["deliveries"]
        assert {d["event"] for d in deliveries} == {"firing", "resolved"}
        firing_posts = [r for r in hook.requests if r.path == "/apprise" and "FIRING" in r.json()["title"]]
        assert len(firing_posts) == 1  # no storm for steps 501 and 502


def test_a_failing_channel_is_recorded_and_ingest_is_unaffected(server: ServerProcess, http: httpx.Client) -> None:
    with http_receiver() as hook:
        hook.status = 500
        rule = http.post(
            "/api/alert-rules",
            json={
                "name": "loss high",
                "project": "failing",
                "condition": {"kind": "threshold", "key": "loss", "value": 10},
                "channels": [f"json://{hook.url}/down"],
            },
        )
        assert rule.status_code == 201, rule.text
        run_id = make_run(http, "failing-channel", project="failing")
        log(http, run_id, [{"step": 1, "metrics": {"loss": 50.0}}])
        alert = wait_alerts(http, run_id, lambda a: a and a[0]["deliveries"] and a[0]["deliveries"][0]["last_error"])[0]
        assert alert["state"] == "firing" and alert["deliveries"][0]["status"] == "pending"  # retried with backoff
        assert "127.0.0.1" not in alert["deliveries"][0]["channel"] or "/down" not in alert["deliveries"][0]["channel"]
        log(http, run_id, [{"step": s, "metrics": {"loss": 1.0}} for s in range(2, 50)])
        latest = http.get(f"/api/runs/{run_id}/metrics/latest").json()
        assert "loss" in str(latest)


def test_a_stalled_run_fires_within_its_time_and_resolves_when_it_steps_again(
    server: ServerProcess, http: httpx.Client
) -> None:
    rule = http.post(
        "/api/alert-rules",
        json={"name": "stalled", "project": "stall", "condition": {"kind": "stall", "seconds": 2}},
    )
    assert rule.status_code == 201, rule.text
    run_id = make_run(http, "stall-run", project="stall")
    for step in range(1, 6):
        log(http, run_id, [{"step": step, "metrics": {"loss": 1.0}}])
        time.sleep(0.3)
    stopped = time.time()
    fired = wait_alerts(http, run_id, lambda a: a and a[0]["state"] == "firing", timeout=2 + 5 + 3)
    assert fired[0]["fired_at"] - stopped <= 2 + 5  # the stall alert came within its time + 5 s
    assert "no new step" in fired[0]["message"]
    log(http, run_id, [{"step": 6, "metrics": {"loss": 1.0}}])
    wait_alerts(http, run_id, lambda a: a and a[0]["state"] == "resolved", timeout=10)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "x", "project": "p", "condition": {"kind": "threshold", "key": "loss"}}, "value"),
        ({"name": "x", "project": "p", "condition": {"kind": "sometimes"}}, "kind"),
        ({"name": "x", "condition": {"kind": "nan"}}, "project"),
        ({"name": "x", "project": "p", "condition": {"kind": "nan"}, "channels": ["nope://"]}, 0),
    ],
)
def test_a_bad_rule_is_a_422_naming_the_field(client: TestClient, body: dict[str, Any], loc: object) -> None:
    resp = client.post("/api/alert-rules", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"][-1] == loc


def test_an_undelivered_notification_survives_a_killed_server_and_is_sent_once(
    server: ServerProcess, http: httpx.Client
) -> None:
    """The receiver is down when the alert fires; the server is SIGKILLed with the delivery in its outbox; after
    the restart (receiver up) it is delivered exactly once."""
    port = free_port()
    rule = http.post(
        "/api/alert-rules",
        json={
            "name": "loss high",
            "project": "outbox",
            "condition": {"kind": "threshold", "key": "loss", "value": 10},
            "channels": [f"json://127.0.0.1:{port}/later"],
        },
    )
    assert rule.status_code == 201, rule.text
    run_id = make_run(http, "outbox-run", project="outbox")
    log(http, run_id, [{"step": 1, "metrics": {"loss": 50.0}}])
    wait_alerts(http, run_id, lambda a: a and a[0]["deliveries"] and a[0]["deliveries"][0]["last_error"])
    server.kill()
    with http_receiver(port) as hook:
        server.start(timeout=120)
        hook.wait_for(lambda r: r.path == "/later", timeout=30)
        with server.client() as again:
            wait_alerts(again, run_id, lambda a: a[0]["deliveries"][0]["status"] == "sent")
        time.sleep(3)  # a second send would come within the retry interval
        assert len([r for r in hook.requests if r.path == "/later"]) == 1


def test_an_idle_gpu_rule_fires_after_its_pending_period_and_browsers_hear_it_on_ws(
    server: ServerProcess, http: httpx.Client
) -> None:
    """``system`` (sys/gpu*/utilization below 10 % for 3 s) on recorded GPU samples: pending while the
    samples span less than 3 s, firing after; a dashboard socket gets ``{"type": "alert"}``."""
    rule = http.post(
        "/api/alert-rules",
        json={"name": "idle GPU", "project": "gpu", "condition": {"kind": "system"}, "for_seconds": 3},
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["condition"] == {"kind": "system", "key": "sys/gpu*/utilization", "op": "below", "value": 10.0}
    run_id = make_run(http, "idle", project="gpu")
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        t0 = time.time()
        busy = [{"step": s, "timestamp": t0 + s, "metrics": {"sys/gpu0/utilization": 95.0}} for s in range(3)]
        log(http, run_id, busy)
        idle = [{"step": s, "timestamp": t0 + s, "metrics": {"sys/gpu0/utilization": 2.0}} for s in range(3, 6)]
        log(http, run_id, idle)
        assert alerts_of(http, run_id) == []  # idle for 2 s so far: pending, not shown
        log(http, run_id, [{"step": 6, "timestamp": t0 + 6, "metrics": {"sys/gpu0/utilization": 1.0}}])
        fired = wait_alerts(http, run_id, lambda a: bool(a))
        assert fired[0]["state"] == "firing" and fired[0]["key"] == "sys/gpu0/utilization" and fired[0]["step"] == 6
        deadline = time.monotonic() + 10
        message: dict[str, Any] = {}
        while time.monotonic() < deadline and message.get("type") != "alert":
            message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "alert" and message["event"] == "firing" and message["alert"]["run_id"] == run_id


SDK_ALERT = """
from trainboard import TrainingMonitor
with TrainingMonitor(run_name="sdk-alert", project="sdk-alerts", system_metrics=False) as monitor:
    print("RUN", monitor.run_id, flush=True)
    monitor.alert("loss spiked", "loss=9.5 at step 3", level="WARN")
"""


def test_the_sdk_raises_an_alert_through_its_projects_channels(
    server: ServerProcess, http: httpx.Client, tmp_path: Any
) -> None:
    """``monitor.alert`` (CONTRACT): sent through the channels of the rules of the run's project, listed under
    /api/alerts with its level, and a line of the run."""
    import subprocess
    import sys

    with http_receiver() as hook:
        rule = http.post(
            "/api/alert-rules",
            json={
                "name": "any",
                "project": "sdk-alerts",
                "condition": {"kind": "status"},
                "channels": [f"json://{hook.url}/sdk"],
            },
        )
        assert rule.status_code == 201, rule.text
        env = server.env() | {"TRAINBOARD_DATA": str(tmp_path / "client")}
        done = subprocess.run([sys.executable, "-c", SDK_ALERT], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        run_id = done.stdout.split("RUN ", 1)[1].split()[0]
        sent = hook.wait_for(lambda r: "loss spiked" in r.json().get("title", ""))
        assert "loss=9.5 at step 3" in sent.json()["message"]
        (alert,) = wait_alerts(http, run_id, lambda a: len(a) == 1)
        assert alert["title"] == "loss spiked" and alert["level"] == "warning"
        lines = http.get(f"/api/runs/{run_id}/logs/lines").json()["lines"]
        assert any("ALERT loss spiked: loss=9.5 at step 3" in line["message"] for line in lines), lines


def test_a_retried_alert_with_the_same_id_alerts_once(server: ServerProcess, http: httpx.Client) -> None:
    """The SDK's alert call carries its id: a request retried after a lost answer makes no second alert and
    sends nothing twice (issue 24)."""
    with http_receiver() as hook:
        rule = {"name": "r", "project": "retry", "condition": {"kind": "status"}, "channels": [f"json://{hook.url}/r"]}
        assert http.post("/api/alert-rules", json=rule).status_code == 201
        run_id = http.post("/api/runs", json={"name": "retried", "project": "retry"}).json()["id"]
        body = {"id": "a1b2c3", "title": "disk almost full", "text": "97 %", "level": "error"}
        first = http.post(f"/api/runs/{run_id}/alerts", json=body)
        again = http.post(f"/api/runs/{run_id}/alerts", json=body)
        assert first.status_code == again.status_code == 201, again.text
        assert again.json()["id"] == first.json()["id"]
        other = http.post(f"/api/runs/{run_id}/alerts", json={**body, "id": "d4e5f6"})
        assert other.json()["id"] != first.json()["id"]  # another id is another alert
        hook.wait_for(lambda r: len([q for q in hook.requests if "disk almost full" in q.json()["title"]]) == 2)
        time.sleep(1.0)  # a duplicate would be sent by now
        assert len([q for q in hook.requests if "disk almost full" in q.json()["title"]]) == 2
        assert len(alerts_of(http, run_id)) == 2
