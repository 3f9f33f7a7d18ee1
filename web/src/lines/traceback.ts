// Python tracebacks in LINES: which rows are the header, a frame (user code or a library's), the frame's source
// line, or the exception line; and which library frames fold behind "N library frames".

export type TraceKind = "header" | "frame" | "code" | "exception" | "chain";

export interface TraceRow {
  kind: TraceKind;
  /** frames and their source lines: inside an installed library or the standard library */
  library?: boolean;
  /** a frame: file, line number and function */
  file?: string;
  lineNo?: number;
  func?: string;
}

const HEADER = /^\s*Traceback \(most recent call last\):\s*$/;
const FRAME = /^\s*File "([^"]+)", line (\d+)(?:, in (.+))?\s*$/;
const CHAIN = /^\s*(During handling of the above exception|The above exception was the direct cause)/;
// an exception line: a dotted name ending in Error/Exception/... then ":" or the end (KeyboardInterrupt too)
const EXCEPTION = /^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning|Iteration|Timeout)\b(:.*)?$|^[A-Za-z_][\w.]*: /;

/** A frame in code the user did not write: an installed package, the standard library, or frozen import code. */
export function isLibraryFile(file: string): boolean {
  return (
    /[\\/](site|dist)-packages[\\/]/.test(file) ||
    /[\\/]lib[\\/]python\d+(\.\d+)?[\\/]/.test(file) ||
    /^<frozen /.test(file) ||
    /[\\/]\.?venv[\\/]lib[\\/]/.test(file)
  );
}

/** Each row's role in a traceback (null: not part of one), given the rows' texts in order. */
export function classify(texts: readonly string[]): (TraceRow | null)[] {
  const out: (TraceRow | null)[] = [];
  let inside = false;
  let lastFrameLibrary: boolean | null = null;
  for (const text of texts) {
    if (HEADER.test(text)) {
      inside = true;
      lastFrameLibrary = null;
      out.push({ kind: "header" });
      continue;
    }
    if (!inside) {
      out.push(CHAIN.test(text) ? { kind: "chain" } : null);
      continue;
    }
    const frame = FRAME.exec(text);
    if (frame) {
      const file = frame[1] as string;
      lastFrameLibrary = isLibraryFile(file);
      out.push({ kind: "frame", library: lastFrameLibrary, file, lineNo: Number(frame[2]), func: frame[3] });
      continue;
    }
    if (lastFrameLibrary !== null && /^\s{4,}\S/.test(text)) {
      // the frame's source line (and the ^^^^ markers under it, Python 3.11+)
      out.push({ kind: "code", library: lastFrameLibrary });
      continue;
    }
    if (/^\S/.test(text) && EXCEPTION.test(text.trim())) {
      out.push({ kind: "exception" });
      inside = false;
      lastFrameLibrary = null;
      continue;
    }
    out.push(null);
    inside = /^\s/.test(text); // an unexpected line: the traceback ended unless it is indented
  }
  return out;
}

export interface Fold {
  /** the first row of the folded run (it shows the "N library frames" toggle) */
  start: number;
  /** rows folded after `start` (hidden while folded) */
  end: number;
  frames: number;
}

/** Runs of consecutive library frames (with their source lines) inside tracebacks: one fold per run. */
export function libraryFolds(rows: readonly (TraceRow | null)[]): Fold[] {
  const folds: Fold[] = [];
  let i = 0;
  while (i < rows.length) {
    const r = rows[i];
    if (r?.kind !== "frame" || !r.library) {
      i++;
      continue;
    }
    const start = i;
    let frames = 0;
    while (i < rows.length) {
      const x = rows[i];
      if (x?.kind === "frame" && x.library) frames++;
      else if (!(x?.kind === "code" && x.library)) break;
      i++;
    }
    folds.push({ start, end: i - 1, frames });
  }
  return folds;
}
