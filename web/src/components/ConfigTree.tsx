import { useState } from "react";

function Leaf({ value }: { value: unknown }) {
  if (value === null) return <span className="muted">null</span>;
  if (typeof value === "string") return <span className="green">"{value}"</span>;
  if (typeof value === "number") return <span className="cyan">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="orange">{String(value)}</span>;
  return <span>{JSON.stringify(value)}</span>;
}

function Node({ name, value, depth }: { name: string; value: unknown; depth: number }) {
  const [open, setOpen] = useState(depth < 2);
  const isObj = value !== null && typeof value === "object";
  if (!isObj)
    return (
      <div className="tree-row" style={{ paddingLeft: depth * 12 }}>
        <span className="tree-key">{name}</span>: <Leaf value={value} />
      </div>
    );
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as object);
  return (
    <div>
      <div className="tree-row clickable" style={{ paddingLeft: depth * 12 }} onClick={() => setOpen(!open)}>
        <span className="muted">{open ? "▾" : "▸"}</span> <span className="tree-key">{name}</span>
        <span className="muted">
          {" "}
          {Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}
        </span>
      </div>
      {open && entries.map(([k, v]) => <Node key={k} name={k} value={v} depth={depth + 1} />)}
    </div>
  );
}

export function ConfigTree({ config }: { config: Record<string, unknown> | null | undefined }) {
  const entries = Object.entries(config ?? {});
  if (entries.length === 0) return <div className="empty">no config recorded</div>;
  return (
    <div className="tree">
      {entries.map(([k, v]) => (
        <Node key={k} name={k} value={v} depth={0} />
      ))}
    </div>
  );
}
