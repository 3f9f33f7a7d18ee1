// The one live connection layer of a tab: at most ONE WebSocket (/ws, subscriptions per run, refcounted)
// and at most ONE EventSource (the selected run's raw log), however many panels are live.
// Browsers allow 6 HTTP/1.1 connections per host; this keeps several open tabs working.
import { backoffDelay } from "./backoff";
import { connectivity } from "./connectivity";
import type { Run, WsMessage } from "./types";

/** Fields of a run that a `run_updated` reports when they change. */
export type RunChanges = Partial<Pick<Run, "name" | "tags" | "notes" | "archived">>;

/**
 * Every message of the socket. Run-list messages (run_created, status_change, run_updated, run_deleted) carry
 * an `id` (so does an idle socket's heartbeat); after a reconnect the server replays those after the last id
 * seen (`/ws?after=ID`), or sends one `reset` when too many were missed: then reload everything. On PostgreSQL
 * ids commit out of order, so the replay also re-sends a short window below ID: ids already handled are dropped.
 */
export type LiveMessage =
  | WsMessage
  | { type: "run_updated"; id: number; run_id: string; changes: RunChanges; run: Run }
  | { type: "reset"; id: number };

type Listener = (msg: WsMessage) => void;
type AnyListener = (msg: LiveMessage) => void;
export type LiveState = "connecting" | "open" | "closed";

export interface LogStreamHandlers {
  /** a chunk of raw bytes ending at absolute offset `end` */
  onChunk(bytes: Uint8Array, end: number): void;
  onDone(exitCode: number | null): void;
  onState?(state: LiveState): void;
}

function decodeBase64(data: string): Uint8Array {
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class LiveConnection {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private readonly runRefs = new Map<string, number>();
  private readonly runListeners = new Map<string, Set<Listener>>();
  private readonly listeners = new Set<AnyListener>();
  /** The newest run-list message id seen: a reconnect resumes after it. */
  private lastId: number | null = null;
  /** Run-list message ids handled: a resume's re-sent window is not handled twice. */
  private readonly seenIds = new RecentIds();
  private readonly stateListeners = new Set<() => void>();
  private state: LiveState = "closed";
  private started = false;

  // the single log stream
  private es: EventSource | null = null;
  private esTimer: ReturnType<typeof setTimeout> | null = null;
  private esToken = 0;

  constructor(
    private readonly wsUrl: () => string = defaultWsUrl,
    private readonly makeSocket: (url: string) => WebSocket = (u) => new WebSocket(u),
    private readonly makeEventSource: (url: string) => EventSource = (u) => new EventSource(u),
  ) {}

  // ---------------------------------------------------------------- WebSocket
  getState = (): LiveState => this.state;

  onState(l: () => void): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  /** Every message of the socket (run_created, status_change, run_updated ... of any run; reset). */
  onMessage(l: AnyListener): () => void {
    this.ensureStarted();
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Subscribe to one run's live messages; the server subscription is shared and refcounted. */
  subscribe(runId: string, l: Listener): () => void {
    this.ensureStarted();
    let set = this.runListeners.get(runId);
    if (!set) this.runListeners.set(runId, (set = new Set()));
    set.add(l);
    const n = this.runRefs.get(runId) ?? 0;
    this.runRefs.set(runId, n + 1);
    if (n === 0) this.send({ type: "subscribe", run_id: runId });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      set.delete(l);
      const left = (this.runRefs.get(runId) ?? 1) - 1;
      if (left <= 0) {
        this.runRefs.delete(runId);
        this.runListeners.delete(runId);
        this.send({ type: "unsubscribe", run_id: runId });
      } else this.runRefs.set(runId, left);
    };
  }

  /** Number of sockets this connection holds (0 or 1): for tests. */
  socketCount(): number {
    return this.ws ? 1 : 0;
  }

  private ensureStarted(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  private setState(s: LiveState): void {
    if (s === this.state) return;
    this.state = s;
    for (const l of this.stateListeners) l();
  }

  private send(msg: object): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private connect(): void {
    this.timer = null;
    this.setState("connecting");
    let ws: WebSocket;
    try {
      ws = this.makeSocket(resumeUrl(this.wsUrl(), this.lastId));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setState("open");
      connectivity.ok();
      for (const runId of this.runRefs.keys()) this.send({ type: "subscribe", run_id: runId });
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), 20_000);
    };
    ws.onmessage = (ev: MessageEvent) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(String(ev.data)) as LiveMessage;
      } catch {
        return;
      }
      const id = feedId(msg);
      if (id !== null && !this.seenIds.add(id)) return; // handled already: a resume re-sent it
      this.lastId = nextLastId(this.lastId, msg);
      for (const l of this.listeners) l(msg);
      if (msg.type === "run_updated" || msg.type === "reset") return;
      const runId = "run_id" in msg ? msg.run_id : undefined;
      if (runId) for (const l of this.runListeners.get(runId) ?? []) l(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = null;
      if (this.state === "open") connectivity.failed();
      this.setState("closed");
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleReconnect(): void {
    if (this.timer) return;
    const delay = backoffDelay(this.attempt++);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // ---------------------------------------------------------------- the single SSE log stream
  /**
   * Follow one run's raw log from absolute byte `offset`. Opening a stream closes the previous one.
   * Reconnects (network drop, server restart) resume from the last byte offset seen (Last-Event-ID / ?offset=).
   * Returns a function that closes the stream.
   */
  openLogStream(runId: string, offset: number, h: LogStreamHandlers, getOffset: () => number = () => offset): () => void {
    this.closeLogStream();
    const token = ++this.esToken;
    let attempt = 0;
    const open = (from: number): void => {
      if (token !== this.esToken) return;
      h.onState?.("connecting");
      const es = this.makeEventSource(`/api/runs/${encodeURIComponent(runId)}/logs/stream?offset=${from}`);
      this.es = es;
      es.onopen = () => {
        attempt = 0;
        h.onState?.("open");
      };
      es.addEventListener("log", (ev) => {
        const m = ev as MessageEvent<string>;
        const end = Number(m.lastEventId);
        const bytes = decodeBase64(m.data);
        h.onChunk(bytes, Number.isFinite(end) && m.lastEventId !== "" ? end : NaN);
      });
      es.addEventListener("done", (ev) => {
        let code: number | null = null;
        try {
          const d = JSON.parse((ev as MessageEvent<string>).data) as { exit_code?: number | null };
          code = d.exit_code ?? null;
        } catch {
          /* keep null */
        }
        es.close();
        if (this.es === es) this.es = null;
        h.onState?.("closed");
        h.onDone(code);
      });
      es.onerror = () => {
        if (token !== this.esToken) return;
        // Reopen ourselves from the last byte written rather than let the browser retry: its retry repeats
        // the original URL (whose ?offset= the server prefers over Last-Event-ID) and would replay bytes.
        es.close();
        if (this.es === es) this.es = null;
        h.onState?.("connecting");
        this.esTimer = setTimeout(() => open(getOffset()), backoffDelay(attempt++));
      };
    };
    open(offset);
    return () => {
      if (token === this.esToken) this.closeLogStream();
    };
  }

  /** Number of EventSources this connection holds (0 or 1): for tests. */
  eventSourceCount(): number {
    return this.es ? 1 : 0;
  }

  private closeLogStream(): void {
    this.esToken++;
    if (this.esTimer) clearTimeout(this.esTimer);
    this.esTimer = null;
    this.es?.close();
    this.es = null;
  }
}

const FEED_TYPES = new Set(["run_created", "status_change", "run_updated", "run_deleted"]);

/** The id of a run-list message (null for any other message, heartbeat and reset included). */
export function feedId(msg: LiveMessage): number | null {
  return FEED_TYPES.has(msg.type) && "id" in msg && typeof msg.id === "number" ? msg.id : null;
}

/** The newest `max` ids added, oldest dropped first. */
export class RecentIds {
  private readonly ids = new Set<number>();
  constructor(private readonly max = 4096) {}

  /** Remember `id`; false when it was there already. */
  add(id: number): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return true;
  }
}

/** The last id after `msg`: a `reset` sets it (resume from there), other messages only move it forward. */
export function nextLastId(last: number | null, msg: LiveMessage): number | null {
  const id = "id" in msg && typeof msg.id === "number" ? msg.id : null;
  if (id === null) return last;
  if (msg.type === "reset") return id;
  return last === null ? id : Math.max(last, id);
}

/** The socket URL resuming after `lastId` (none yet: live only). */
export function resumeUrl(url: string, lastId: number | null): string {
  if (lastId === null) return url;
  return `${url}${url.includes("?") ? "&" : "?"}after=${lastId}`;
}

function defaultWsUrl(): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws`;
}

/** The tab's one live connection. */
export const live = new LiveConnection();
