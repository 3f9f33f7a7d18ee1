// One row of the LINES view: number (a permalink), time, level badge, source, then the message — a structured
// line as logger + message + key=value chips (expandable to the full field table), a traceback row emphasised
// by its role (library frames folded by the view), code highlighted by highlight.js. Line text is only ever
// React text or highlight.js's escaped output: never markup of its own.
import { useEffect, useState, type ReactNode } from "react";
import { epochSeconds } from "../api/wire";
import { ansiSegments } from "../lib/ansi";
import { fmtClock } from "../lib/format";
import { permalinkPath } from "../bookmarks/permalink";
import { codeLanguageOf, codeTokens, highlighter, highlightHtml, loadHighlighter, type CodeLanguage } from "./codeHighlight";
import { splitMatches } from "./highlight";
import { levelClass } from "./levels";
import { fieldText, structuredRow, type AnyLine } from "./structured";
import type { Fold, TraceRow } from "./traceback";

export interface RowActions {
  onCopyLink(line: AnyLine): void;
  onBookmark(line: AnyLine): void;
  onToggleFold(fold: Fold, at: number): void;
  onToggleFields(lineNumber: number): void;
}

export interface LineRowProps {
  runId: string;
  line: AnyLine;
  re: RegExp | null;
  provisional: boolean;
  trace: TraceRow | null;
  /** set on the first row of a run of library frames */
  fold?: { fold: Fold; at: number; open: boolean };
  expanded: boolean;
  actions: RowActions;
}

/** Text with the search's matches in <mark>. */
export function Marked({ text, re }: { text: string; re: RegExp | null }) {
  if (!re) return <>{text}</>;
  return (
    <>
      {splitMatches(text, re).map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </>
  );
}

/** The highlighter once loaded (asks for it on first use). */
function useHighlighter(wanted: boolean) {
  const [hljs, setHljs] = useState(highlighter);
  useEffect(() => {
    if (wanted && !hljs) void loadHighlighter().then(setHljs);
  }, [wanted, hljs]);
  return hljs;
}

function Code({ text, language, re }: { text: string; language: CodeLanguage; re: RegExp | null }) {
  const hljs = useHighlighter(!re);
  if (re || !hljs) return <Marked text={text} re={re} />; // search marks win; plain text until loaded
  return (
    <span className="hljs code" data-code={language}>
      {codeTokens(highlightHtml(hljs, text, language)).map((t, i) => (
        <span key={i} className={t.className ?? undefined}>
          {t.text}
        </span>
      ))}
    </span>
  );
}

function Plain({ line, re }: { line: AnyLine; re: RegExp | null }) {
  if (!line.display) return <Marked text={line.message} re={re} />;
  return (
    <>
      {ansiSegments(line.display).map((seg, i) => (
        <span key={i} style={seg.fg || seg.bold ? { color: seg.fg, fontWeight: seg.bold ? "bold" : undefined } : undefined}>
          <Marked text={seg.text} re={re} />
        </span>
      ))}
    </>
  );
}

function Message({ line, re, trace }: { line: AnyLine; re: RegExp | null; trace: TraceRow | null }): ReactNode {
  if (trace?.kind === "code") return <Code text={line.message} language="python" re={re} />;
  if (trace?.kind === "frame") {
    return (
      <span className={trace.library ? "tb-frame library" : "tb-frame user"} data-trace="frame" data-library={String(!!trace.library)}>
        <Marked text={line.message} re={re} />
      </span>
    );
  }
  if (trace?.kind === "exception") {
    return (
      <span className="tb-exception" data-trace="exception">
        <Marked text={line.message} re={re} />
      </span>
    );
  }
  if (trace) {
    return (
      <span className="tb-header" data-trace={trace.kind}>
        <Marked text={line.message} re={re} />
      </span>
    );
  }
  const language = codeLanguageOf(line.message);
  return language ? <Code text={line.message} language={language} re={re} /> : <Plain line={line} re={re} />;
}

export function LineRow({ runId, line, re, provisional, trace, fold, expanded, actions }: LineRowProps) {
  const row = structuredRow(line);
  const time = line.timestamp === null ? "" : fmtClock(epochSeconds(line.timestamp));
  return (
    <>
      <div className="line-main">
        <a
          className="muted ln"
          href={permalinkPath(runId, { line: line.line_number })}
          title="permalink of this line"
          onClick={(e) => {
            if (e.button === 0 && !e.metaKey && !e.ctrlKey) {
              e.preventDefault();
              actions.onCopyLink(line);
            }
          }}
        >
          {line.line_number}
        </a>
        <span className="muted ts">{time}</span>
        <span className={`lvl ${levelClass(line.level, line.level_no)}`} data-testid="level-badge">
          {line.level.toUpperCase().slice(0, 8)}
        </span>
        <span className="muted src">{line.source}</span>
        {fold ? (
          <button
            className="btn tiny tb-fold"
            data-testid="library-frames"
            onClick={() => actions.onToggleFold(fold.fold, fold.at)}
            title={fold.open ? "fold the library frames" : "show the frames inside libraries"}
          >
            {fold.open ? "▾" : "▸"} {fold.fold.frames} library frame{fold.fold.frames === 1 ? "" : "s"}
          </button>
        ) : null}
        {fold && !fold.open ? null : row ? (
          <span className="line-msg structured" data-structured="true">
            {row.logger && <span className="logger">{row.logger}</span>}
            <span className="msg">
              <Marked text={row.message} re={re} />
            </span>
            {row.extras.map(([k, v]) => (
              <span key={k} className="chip field" data-field={k}>
                {k}=<Marked text={v} re={re} />
              </span>
            ))}
            {row.extras.length > 0 && (
              <button className="btn tiny" aria-expanded={expanded} onClick={() => actions.onToggleFields(line.line_number)}>
                {expanded ? "▾ fields" : "▸ fields"}
              </button>
            )}
          </span>
        ) : (
          <span className="line-msg">
            <Message line={line} re={re} trace={trace} />
          </span>
        )}
        {!provisional && (
          <span className="line-actions">
            <button className="btn tiny" title="copy a link to this line" aria-label="copy link" onClick={() => actions.onCopyLink(line)}>
              link
            </button>
            <button className="btn tiny" title="bookmark this line (with a note)" aria-label="bookmark line" onClick={() => actions.onBookmark(line)}>
              ☆
            </button>
          </span>
        )}
      </div>
      {expanded && row && (
        <table className="fields-table" data-testid="fields-table">
          <tbody>
            {Object.entries(line.fields ?? {}).map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>{fieldText(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
