import { describe, expect, it } from "vitest";
import type { LogPage } from "../api/client";
import type { LogStreamHandlers } from "../api/live";
import { followLog } from "./follow";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A server log that grows, with the GET /logs and SSE semantics of the API. */
class FakeServer {
  data = new Uint8Array(0);
  streams: { from: number; h: LogStreamHandlers; closed: boolean }[] = [];
  append(s: string) {
    const add = enc.encode(s);
    const next = new Uint8Array(this.data.length + add.length);
    next.set(this.data);
    next.set(add, this.data.length);
    this.data = next;
  }
  fetchPage = async (offset: number, limit: number): Promise<LogPage> => ({
    offset,
    bytes: this.data.slice(offset, offset + limit),
    total: this.data.length,
  });
  openStream = (offset: number, h: LogStreamHandlers) => {
    const s = { from: offset, h, closed: false };
    this.streams.push(s);
    return () => {
      s.closed = true;
    };
  };
  /** deliver [from, to) to the newest stream as one event (id = end offset) */
  deliver(from: number, to = this.data.length) {
    const s = this.streams.at(-1);
    if (s && !s.closed) s.h.onChunk(this.data.slice(from, to), to);
  }
}

function viewer(server: FakeServer, tailBytes?: number, sizeHint?: number) {
  const out: string[] = [];
  const f = followLog({
    fetchPage: server.fetchPage,
    openStream: server.openStream,
    write: (b) => out.push(dec.decode(b)),
    tailBytes,
    sizeHint,
  });
  return { f, text: () => out.join("") };
}

describe("followLog", () => {
  it("loads the history then follows from its end", async () => {
    const s = new FakeServer();
    s.append("epoch 1\n");
    const v = viewer(s);
    await v.f.idle();
    expect(s.streams[0]?.from).toBe(8);
    s.append("epoch 2\n");
    s.deliver(8);
    await v.f.idle();
    expect(v.text()).toBe("epoch 1\nepoch 2\n");
  });

  it("tells the writer each chunk's log offset (a player resizes where the recording did)", async () => {
    const s = new FakeServer();
    s.append("a\nb\n");
    const starts: [number, string][] = [];
    const f = followLog({
      fetchPage: s.fetchPage,
      openStream: s.openStream,
      write: (b, start) => starts.push([start, dec.decode(b)]),
    });
    await f.idle();
    s.append("cc\ndd\n");
    s.deliver(2, 7); // overlaps what was written: only "cc\n" at 4 is new
    s.deliver(7);
    await f.idle();
    expect(starts).toEqual([
      [0, "a\nb\n"],
      [4, "cc\n"],
      [7, "dd\n"],
    ]);
  });

  it("writes no duplicate when the stream replays bytes the history already had", async () => {
    const s = new FakeServer();
    s.append("a\nb\n");
    const v = viewer(s);
    await v.f.idle();
    s.append("c\n");
    s.deliver(0); // a server that replays from 0
    s.deliver(4); // then the new bytes again
    await v.f.idle();
    expect(v.text()).toBe("a\nb\nc\n");
  });

  it("fills a gap (a dropped event) from the history endpoint", async () => {
    const s = new FakeServer();
    s.append("1\n");
    const v = viewer(s);
    await v.f.idle();
    s.append("2\n3\n");
    s.deliver(4); // the event with "2\n" was lost
    await v.f.idle();
    expect(v.text()).toBe("1\n2\n3\n");
    expect(v.f.offset()).toBe(6);
  });

  it("reconnects from the last byte written", async () => {
    const s = new FakeServer();
    const v = viewer(s);
    await v.f.idle();
    s.append("x\n");
    s.deliver(0);
    await v.f.idle();
    expect(v.f.offset()).toBe(2);
  });

  it("navigating away and back shows the full history once", async () => {
    const s = new FakeServer();
    s.append("line 1\nline 2\n");
    const first = viewer(s);
    await first.f.idle();
    first.f.close();
    s.append("line 3\n");
    const again = viewer(s);
    await again.f.idle();
    s.append("line 4\n");
    s.deliver(14); // the new stream may start at the old offset: line 3 again, then line 4
    await again.f.idle();
    expect(again.text()).toBe("line 1\nline 2\nline 3\nline 4\n");
  });

  it("loads a large log from the end, starting at a line boundary", async () => {
    const s = new FakeServer();
    for (let i = 0; i < 100; i++) s.append(`line ${String(i).padStart(3, "0")}\n`); // 9 bytes each
    let skipped = 0;
    const out: string[] = [];
    const f = followLog({
      fetchPage: s.fetchPage,
      openStream: s.openStream,
      write: (b) => out.push(dec.decode(b)),
      onTruncated: (n) => (skipped = n),
      tailBytes: 40,
    });
    await f.idle();
    const text = out.join("");
    expect(text.startsWith("line ")).toBe(true);
    expect(text.endsWith("line 099\n")).toBe(true);
    expect(skipped + enc.encode(text).length).toBe(900);
    expect(s.streams[0]?.from).toBe(900);
  });

  it("fetches a large log's tail in one request when the size is known", async () => {
    const s = new FakeServer();
    for (let i = 0; i < 100; i++) s.append(`line ${String(i).padStart(3, "0")}\n`);
    const calls: number[] = [];
    const fetchPage = s.fetchPage;
    s.fetchPage = async (o, l) => {
      calls.push(o);
      return fetchPage(o, l);
    };
    const v = viewer(s, 40, 900);
    await v.f.idle();
    expect(calls).toEqual([860]);
    expect(v.text().endsWith("line 099\n")).toBe(true);
    // a stale hint (the log grew a lot) still ends at the tail
    const calls2: number[] = [];
    s.fetchPage = async (o, l) => {
      calls2.push(o);
      return fetchPage(o, l);
    };
    const w = viewer(s, 40, 100);
    await w.f.idle();
    expect(calls2).toEqual([60, 860]);
  });

  it("uses the server's tail request, honouring where the returned bytes start", async () => {
    const s = new FakeServer();
    for (let i = 0; i < 100; i++) s.append(`line ${String(i).padStart(3, "0")}\n`);
    const out: string[] = [];
    const f = followLog({
      fetchPage: s.fetchPage,
      fetchTail: async (n) => ({ offset: 900 - n, bytes: s.data.slice(900 - n), total: 900 }),
      openStream: s.openStream,
      write: (b) => out.push(dec.decode(b)),
      tailBytes: 40,
    });
    await f.idle();
    expect(out.join("")).toBe("line 096\nline 097\nline 098\nline 099\n");
    expect(s.streams[0]?.from).toBe(900);
  });

  it("reports done after the last chunk is written", async () => {
    const s = new FakeServer();
    const events: string[] = [];
    const f = followLog({
      fetchPage: s.fetchPage,
      openStream: s.openStream,
      write: (b) => events.push(dec.decode(b)),
      onDone: (c) => events.push(`done ${c}`),
    });
    await f.idle();
    s.append("bye\n");
    s.deliver(0);
    s.append("late\n"); // stored but never sent on the stream
    s.streams[0]?.h.onDone(1);
    await f.idle();
    expect(events).toEqual(["bye\n", "late\n", "done 1"]);
  });
});
