import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveConnection } from "./live";

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
  close() {
    this.drop();
  }
}

class FakeES {
  static all: FakeES[] = [];
  readyState = 0;
  closed = false;
  listeners = new Map<string, (e: MessageEvent) => void>();
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeES.all.push(this);
  }
  addEventListener(type: string, f: (e: MessageEvent) => void) {
    this.listeners.set(type, f);
  }
  emit(type: string, data: string, id = "") {
    this.listeners.get(type)?.({ data, lastEventId: id } as MessageEvent);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
}

const mk = () =>
  new LiveConnection(
    () => "ws://test/ws",
    (u) => new FakeSocket(u) as unknown as WebSocket,
    (u) => new FakeES(u) as unknown as EventSource,
  );

beforeEach(() => {
  FakeSocket.all = [];
  FakeES.all = [];
  vi.stubGlobal("WebSocket", { OPEN: 1 });
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("LiveConnection: one WebSocket per tab", () => {
  it("shares one socket and one server subscription among panels", () => {
    const live = mk();
    const got: string[] = [];
    const off1 = live.subscribe("r1", (m) => got.push(`a:${m.type}`));
    const off2 = live.subscribe("r1", (m) => got.push(`b:${m.type}`));
    live.subscribe("r2", () => undefined);
    expect(FakeSocket.all).toHaveLength(1);
    const ws = FakeSocket.all[0] as FakeSocket;
    ws.open();
    expect(ws.sent).toEqual([
      { type: "subscribe", run_id: "r1" },
      { type: "subscribe", run_id: "r2" },
    ]);
    ws.onmessage?.({ data: JSON.stringify({ type: "metric_update", run_id: "r1", step: 1, metrics: {} }) });
    expect(got).toEqual(["a:metric_update", "b:metric_update"]);
    off1();
    expect(ws.sent).toHaveLength(2);
    off2();
    expect(ws.sent.at(-1)).toEqual({ type: "unsubscribe", run_id: "r1" });
  });

  it("reconnects with backoff and re-subscribes", () => {
    const live = mk();
    live.subscribe("r1", () => undefined);
    (FakeSocket.all[0] as FakeSocket).open();
    (FakeSocket.all[0] as FakeSocket).drop();
    expect(live.getState()).toBe("closed");
    vi.advanceTimersByTime(15_000);
    expect(FakeSocket.all).toHaveLength(2);
    const ws2 = FakeSocket.all[1] as FakeSocket;
    ws2.open();
    expect(ws2.sent).toEqual([{ type: "subscribe", run_id: "r1" }]);
    expect(live.socketCount()).toBe(1);
  });
});

describe("LiveConnection: one EventSource per tab", () => {
  it("closes the previous log stream when another opens", () => {
    const live = mk();
    const h = { onChunk: vi.fn(), onDone: vi.fn() };
    live.openLogStream("r1", 10, h);
    live.openLogStream("r2", 0, h);
    expect(FakeES.all).toHaveLength(2);
    expect((FakeES.all[0] as FakeES).closed).toBe(true);
    expect((FakeES.all[1] as FakeES).url).toBe("/api/runs/r2/logs/stream?offset=0");
    expect(live.eventSourceCount()).toBe(1);
  });

  it("decodes chunks with their end offset and stops on done", () => {
    const live = mk();
    const chunks: [string, number][] = [];
    const onDone = vi.fn();
    live.openLogStream("r1", 0, { onChunk: (b, end) => chunks.push([new TextDecoder().decode(b), end]), onDone });
    const es = FakeES.all[0] as FakeES;
    es.emit("log", btoa("hello\n"), "6");
    es.emit("done", JSON.stringify({ exit_code: 2 }));
    expect(chunks).toEqual([["hello\n", 6]]);
    expect(onDone).toHaveBeenCalledWith(2);
    expect(es.closed).toBe(true);
    expect(live.eventSourceCount()).toBe(0);
  });

  it("reopens from the last offset after an error", () => {
    const live = mk();
    let offset = 0;
    live.openLogStream("r1", 0, { onChunk: (_b, end) => (offset = end), onDone: vi.fn() }, () => offset);
    const es = FakeES.all[0] as FakeES;
    es.emit("log", btoa("abc"), "3");
    es.onerror?.();
    expect(es.closed).toBe(true);
    vi.advanceTimersByTime(15_000);
    expect(FakeES.all).toHaveLength(2);
    expect((FakeES.all[1] as FakeES).url).toBe("/api/runs/r1/logs/stream?offset=3");
  });
});

describe("LiveConnection: /ws resume", () => {
  const feed = (ws: FakeSocket, msg: object) => ws.onmessage?.({ data: JSON.stringify(msg) });

  it("reconnects after the last run-list id it saw, and a reset moves it", () => {
    const live = mk();
    const got: string[] = [];
    live.onMessage((m) => got.push(m.type));
    const runUpdates: string[] = [];
    live.subscribe("r1", (m) => runUpdates.push(m.type));
    const ws1 = FakeSocket.all[0] as FakeSocket;
    expect(ws1.url).toBe("ws://test/ws"); // nothing seen yet: live only
    ws1.open();
    feed(ws1, { type: "run_created", id: 7, run: { id: "r1" } });
    feed(ws1, { type: "metric_update", run_id: "r1", step: 1, metrics: {} }); // no id: the last id stays
    feed(ws1, { type: "run_updated", id: 9, run_id: "r1", changes: { tags: ["a"] }, run: { id: "r1" } });
    feed(ws1, { type: "status_change", id: 8, run_id: "r1", old_status: "running", new_status: "failed" });
    ws1.drop();
    vi.advanceTimersByTime(15_000);
    const ws2 = FakeSocket.all[1] as FakeSocket;
    expect(ws2.url).toBe("ws://test/ws?after=9");
    ws2.open();
    feed(ws2, { type: "reset", id: 40 });
    ws2.drop();
    vi.advanceTimersByTime(15_000);
    expect((FakeSocket.all[2] as FakeSocket).url).toBe("ws://test/ws?after=40");
    expect(got).toEqual(["run_created", "metric_update", "run_updated", "status_change", "reset"]);
    // run_updated and reset go to the page's listeners, not to one run's panels
    expect(runUpdates).toEqual(["metric_update", "status_change"]);
  });
});

describe("LiveConnection: /ws resume window (PostgreSQL re-sends ids below the resume point)", () => {
  const feed = (ws: FakeSocket, msg: object) => ws.onmessage?.({ data: JSON.stringify(msg) });

  it("hands each run-list id to the page once, and takes the one that committed late", () => {
    const live = mk();
    const got: string[] = [];
    live.onMessage((m) => got.push(`${m.type}:${"id" in m ? String(m.id) : ""}`));
    const ws1 = FakeSocket.all[0] as FakeSocket;
    ws1.open();
    feed(ws1, { type: "run_created", id: 9, run: { id: "r1" } });
    feed(ws1, { type: "run_updated", id: 11, run_id: "r1", changes: { notes: "x" }, run: { id: "r1" } });
    ws1.drop();
    vi.advanceTimersByTime(15_000);
    const ws2 = FakeSocket.all[1] as FakeSocket;
    expect(ws2.url).toBe("ws://test/ws?after=11");
    ws2.open();
    // the replay: the window below 11 (9 again, and 10, committed after 11 was seen), then what is new
    feed(ws2, { type: "run_created", id: 9, run: { id: "r1" } });
    feed(ws2, { type: "status_change", id: 10, run_id: "r1", old_status: "running", new_status: "failed" });
    feed(ws2, { type: "run_deleted", id: 12, run_id: "r1" });
    feed(ws2, { type: "run_deleted", id: 12, run_id: "r1" }); // live, after its replay
    feed(ws2, { type: "heartbeat", id: 12 });
    expect(got).toEqual(["run_created:9", "run_updated:11", "status_change:10", "run_deleted:12", "heartbeat:12"]);
    ws2.drop();
    vi.advanceTimersByTime(15_000);
    expect((FakeSocket.all[2] as FakeSocket).url).toBe("ws://test/ws?after=12");
  });
});

describe("LiveConnection: /ws resume point from an idle socket", () => {
  it("takes the heartbeat's id when no run-list message came", () => {
    const live = mk();
    live.onMessage(() => undefined);
    const ws1 = FakeSocket.all[0] as FakeSocket;
    ws1.open();
    ws1.onmessage?.({ data: JSON.stringify({ type: "heartbeat", id: 12 }) });
    ws1.drop();
    vi.advanceTimersByTime(15_000);
    expect((FakeSocket.all[1] as FakeSocket).url).toBe("ws://test/ws?after=12");
  });
});
