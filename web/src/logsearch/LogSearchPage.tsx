// /logs/search: one query across the logs of every run the user may read (README "Search logs"): a query box
// (the log query language), an optional project, a results table (run, line, time, level, message with the
// match marked), a row opens the run at that line (`/runs/{id}?line=N`), pages through the server's cursor.
// The query and the page live in the address (?q=&project=), so a search is a link to share.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { Panel } from "../components/Panel";
import { searchLogs, type SearchHit } from "./api";
import "./logsearch.css";
import { segments } from "./segments";

const PAGE = 50;
const EXAMPLES = [
  '"NCCL timeout"',
  "level>=warning logger:train.data",
  '"CUDA out of memory" time:-7d..',
  "loss field.step>1000",
];

function when(t: number): string {
  const d = new Date(t * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function Message({ hit }: { hit: SearchHit }) {
  return (
    <span className="logsearch-message">
      {segments(hit.message, hit.match).map((s, i) => (s.match ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>))}
    </span>
  );
}

function HitRow({ hit, open }: { hit: SearchHit; open: (h: SearchHit) => void }) {
  const href = `/runs/${encodeURIComponent(hit.run_id)}?line=${hit.line}`;
  return (
    <tr
      className={`logsearch-hit level-${hit.level_no !== null && hit.level_no >= 40 ? "error" : hit.level_no !== null && hit.level_no >= 30 ? "warning" : "info"}`}
      data-testid="logsearch-hit"
      onClick={(e) => {
        if ((e.target as HTMLElement).closest("a")) return; // the link itself navigates
        open(hit);
      }}
    >
      <td>
        <Link to={href} title={hit.project ? `project ${hit.project}` : undefined}>
          {hit.run_name || hit.run_id}
        </Link>
      </td>
      <td className="num">{hit.line.toLocaleString()}</td>
      <td className="small nowrap">{when(hit.timestamp)}</td>
      <td className="small">{hit.level}</td>
      <td>
        <Message hit={hit} />
        {hit.logger && <span className="small muted"> · {hit.logger}</span>}
      </td>
    </tr>
  );
}

export function LogSearchPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const q = params.get("q") ?? "";
  const project = params.get("project") ?? "";
  const [draft, setDraft] = useState({ q, project });
  // the cursors of the pages before this one (page 1 has none): back pops one
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.length ? cursors[cursors.length - 1]! : null;
  const result = useQuery({
    queryKey: ["logsearch", q, project, cursor],
    queryFn: () => searchLogs({ q, project: project || undefined, cursor, limit: PAGE }),
    enabled: q.trim() !== "",
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCursors([]);
    const next: Record<string, string> = {};
    if (draft.q.trim()) next.q = draft.q.trim();
    if (draft.project.trim()) next.project = draft.project.trim();
    setParams(next);
  };
  const page = result.data;
  const first = cursors.length * PAGE + 1;
  const open = (h: SearchHit) => void navigate(`/runs/${encodeURIComponent(h.run_id)}?line=${h.line}`);

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">▌TRAINBOARD</span>
        <Link className="btn link" to="/">
          ← DASHBOARD
        </Link>
        <span>SEARCH LOGS</span>
        <span className="spacer" />
      </header>
      <main className="logsearch-page">
        <Panel title="SEARCH LOGS ACROSS RUNS">
          <form className="logsearch-form" onSubmit={submit} role="search">
            <input
              className="logsearch-q"
              aria-label="query"
              placeholder='level>=warning logger:train.data "CUDA out of memory" field.step>1000'
              value={draft.q}
              onChange={(e) => setDraft({ ...draft, q: e.target.value })}
              autoFocus
            />
            <input
              aria-label="project"
              placeholder="project (all)"
              value={draft.project}
              onChange={(e) => setDraft({ ...draft, project: e.target.value })}
            />
            <button className="btn" type="submit">
              SEARCH
            </button>
          </form>
          <p className="small muted">
            Words and "phrases" (whole words, through the index) ·{" "}
            <code>level&gt;=warning</code> · <code>logger:name</code> · <code>rank:N</code> · <code>source:stderr</code> ·{" "}
            <code>time:10:02..10:05</code> (your time zone) or <code>time:-7d..</code> · <code>field.step&gt;1000</code> ·{" "}
            <code>/regex/</code> · <code>-term</code> excludes. Try:{" "}
            {EXAMPLES.map((ex) => (
              <button
                key={ex}
                type="button"
                className="btn link small"
                onClick={() => {
                  setDraft({ ...draft, q: ex });
                  setCursors([]);
                  setParams({ q: ex, ...(draft.project.trim() ? { project: draft.project.trim() } : {}) });
                }}
              >
                {ex}
              </button>
            ))}
          </p>
          {result.error && (
            <p className="red" role="alert" data-testid="logsearch-error">
              {(result.error as Error).message}
            </p>
          )}
          {q && page && (
            <p className="small" data-testid="logsearch-status">
              {page.hits.length === 0
                ? cursors.length
                  ? "no more matches"
                  : "no line matches"
                : `matches ${first.toLocaleString()}–${(first + page.hits.length - 1).toLocaleString()}, newest first`}
              {page.next_cursor ? " · more on the next page" : page.hits.length ? " · the last page" : ""}
              {!page.indexed && " · no word to look up in the index: lines were read newest first"}
              {page.partial && " · this page stopped after reading 200,000 candidate lines: more may match further on"}
              {result.isFetching && " · searching…"}
            </p>
          )}
          {page && page.hits.length > 0 && (
            <table className="logsearch-table">
              <thead>
                <tr>
                  <th>run</th>
                  <th>line</th>
                  <th>time</th>
                  <th>level</th>
                  <th>message</th>
                </tr>
              </thead>
              <tbody>
                {page.hits.map((h) => (
                  <HitRow key={`${h.run_id}:${h.line}`} hit={h} open={open} />
                ))}
              </tbody>
            </table>
          )}
          <div className="logsearch-pager">
            <button className="btn" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← NEWER
            </button>
            <button
              className="btn"
              disabled={!page?.next_cursor}
              onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}
            >
              OLDER →
            </button>
          </div>
        </Panel>
      </main>
    </div>
  );
}
