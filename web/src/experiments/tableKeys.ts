// The runs grid's keys as data: which action a key stands for, and where a cursor move lands.
export type TableAction =
  | { kind: "move"; to: (cursor: number, n: number) => number }
  | { kind: "toggle" }
  | { kind: "toggleAll" }
  | { kind: "open" }
  | { kind: "compare" }
  | { kind: "clear" };

const clamp = (i: number, n: number) => Math.max(0, Math.min(n - 1, i));
const by = (d: number): TableAction => ({ kind: "move", to: (c, n) => clamp(c + d, n) });

const ACTIONS: Record<string, TableAction> = {
  ArrowDown: by(1),
  j: by(1),
  ArrowUp: by(-1),
  k: by(-1),
  PageDown: by(20),
  PageUp: by(-20),
  Home: { kind: "move", to: () => 0 },
  End: { kind: "move", to: (_c, n) => n - 1 },
  " ": { kind: "toggle" },
  x: { kind: "toggle" },
  a: { kind: "toggleAll" },
  Enter: { kind: "open" },
  c: { kind: "compare" },
  Escape: { kind: "clear" },
};

/** The action of a keydown on the grid; none with Ctrl, Alt or Meta (the browser's and the OS's keys). */
export function tableAction(e: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean }): TableAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  return ACTIONS[e.key] ?? null;
}
