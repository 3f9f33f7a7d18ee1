// Code in LINES highlighted by highlight.js, loaded on first use (its own chunk: the first paint does not pay for
// it). highlight.js escapes the text it is given (&, <, >, quotes): its output holds no markup of the line's own.
import type { HLJSApi } from "highlight.js";

export type CodeLanguage = "python" | "json";

let loading: Promise<HLJSApi> | null = null;
let loaded: HLJSApi | null = null;

/** highlight.js with Python and JSON, loaded once. */
export function loadHighlighter(): Promise<HLJSApi> {
  loading ??= Promise.all([
    import("highlight.js/lib/core"),
    import("highlight.js/lib/languages/python"),
    import("highlight.js/lib/languages/json"),
  ]).then(([core, python, json]) => {
    const hljs = core.default;
    hljs.registerLanguage("python", python.default);
    hljs.registerLanguage("json", json.default);
    loaded = hljs;
    return hljs;
  });
  return loading;
}

/** The highlighter if already loaded (a row renders plain text until it is). */
export function highlighter(): HLJSApi | null {
  return loaded;
}

/** Escaped, highlighted HTML of `text`. */
export function highlightHtml(hljs: HLJSApi, text: string, language: CodeLanguage): string {
  return hljs.highlight(text, { language, ignoreIllegals: true }).value;
}

/** A highlighted piece: text (never markup) and the highlight.js classes it has. */
export interface CodeToken {
  text: string;
  className: string | null;
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
const TAG = /<span class="([\w\- ]+)">|<\/span>/g;

/** highlight.js's output read back as tokens, rendered as React text: only its own `<span class>` tags are
 * understood, everything else is text (and its entities decoded), so nothing is ever rendered as HTML. */
export function codeTokens(html: string): CodeToken[] {
  const out: CodeToken[] = [];
  const stack: string[] = [];
  const text = (s: string) => s.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (e) => ENTITIES[e] ?? e);
  let at = 0;
  TAG.lastIndex = 0;
  for (let m = TAG.exec(html); m !== null; m = TAG.exec(html)) {
    if (m.index > at) out.push({ text: text(html.slice(at, m.index)), className: stack.at(-1) ?? null });
    if (m[1] !== undefined) stack.push(m[1]);
    else stack.pop();
    at = m.index + m[0].length;
  }
  if (at < html.length) out.push({ text: text(html.slice(at)), className: stack.at(-1) ?? null });
  return out;
}

/** Whether a plain line reads as code worth highlighting: a Python prompt, or a printed dict or list. */
export function codeLanguageOf(text: string): CodeLanguage | null {
  const t = text.trim();
  if (t.startsWith(">>> ")) return "python";
  if (t.length >= 2 && ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]")))) {
    return /^[[{]\s*"/.test(t) ? "json" : "python";
  }
  return null;
}
