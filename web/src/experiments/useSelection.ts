// Selection of runs for comparison: toggle one, shift-extend a range from the last toggled, all / none.
import { useCallback, useRef, useState } from "react";

export function useSelection(order: readonly string[]) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const anchor = useRef<string | null>(null);
  const orderRef = useRef(order);
  orderRef.current = order;

  const toggle = useCallback((id: string, range = false) => {
    setSelected((cur) => {
      const next = new Set(cur);
      const ids = orderRef.current;
      const a = anchor.current === null ? -1 : ids.indexOf(anchor.current);
      const b = ids.indexOf(id);
      if (range && a >= 0 && b >= 0) {
        const on = !cur.has(id);
        for (let i = Math.min(a, b); i <= Math.max(a, b); i++) {
          const x = ids[i] as string;
          if (on) next.add(x);
          else next.delete(x);
        }
      } else if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
    anchor.current = id;
  }, []);

  // the runs in `order` (those loaded in view) join the selection, or leave it when all are in: runs ticked
  // elsewhere (scrolled away) stay ticked, so a selection can be built a screen at a time
  const toggleAll = useCallback(() => {
    setSelected((cur) => {
      const ids = orderRef.current;
      const next = new Set(cur);
      if (ids.length > 0 && ids.every((x) => cur.has(x))) for (const x of ids) next.delete(x);
      else for (const x of ids) next.add(x);
      return next;
    });
  }, []);

  const clear = useCallback(() => setSelected(new Set()), []);
  const drop = useCallback((id: string) => setSelected((cur) => new Set([...cur].filter((x) => x !== id))), []);
  return { selected, toggle, toggleAll, clear, drop };
}
