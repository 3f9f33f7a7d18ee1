import { useRef } from "react";

/**
 * A drag handle between two panels: dragging (or the arrow keys) changes a size in px, shown live through
 * `onDrag` and saved once with `onCommit` when the drag ends.
 */
export function Splitter(props: {
  axis: "x" | "y";
  /** the current size in px (measured when a drag starts) */
  getValue(): number;
  min: number;
  max: number;
  label: string;
  /** the size grows toward the start (a column on the right, sized by dragging its left edge) */
  invert?: boolean;
  onDrag(px: number): void;
  onCommit(px: number): void;
}) {
  const start = useRef<{ pos: number; value: number } | null>(null);
  const last = useRef(0);
  const clamp = (v: number) => Math.round(Math.min(props.max, Math.max(props.min, v)));
  const at = (e: React.PointerEvent) => (props.axis === "y" ? e.clientY : e.clientX);
  return (
    <div
      className={`splitter splitter-${props.axis}`}
      role="separator"
      aria-orientation={props.axis === "y" ? "horizontal" : "vertical"}
      aria-label={props.label}
      aria-valuemin={props.min}
      aria-valuemax={props.max}
      tabIndex={0}
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        const value = props.getValue();
        start.current = { pos: at(e), value };
        last.current = value;
      }}
      onPointerMove={(e) => {
        const s = start.current;
        if (!s) return;
        last.current = clamp(s.value + (props.invert ? s.pos - at(e) : at(e) - s.pos));
        props.onDrag(last.current);
      }}
      onPointerUp={() => {
        if (!start.current) return;
        start.current = null;
        props.onCommit(last.current);
      }}
      onKeyDown={(e) => {
        const d = { ArrowUp: -20, ArrowLeft: -20, ArrowDown: 20, ArrowRight: 20 }[e.key];
        if (d === undefined) return;
        e.preventDefault();
        const v = clamp(props.getValue() + (props.invert ? -d : d));
        props.onDrag(v);
        props.onCommit(v);
      }}
    />
  );
}
