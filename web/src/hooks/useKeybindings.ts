import { useEffect, useEffectEvent } from "react";

/** One keyboard shortcut: the `KeyboardEvent.key` values that trigger it and what it does. */
export interface Keybinding {
  keys: readonly string[];
  run(e: KeyboardEvent): void;
  /**
   * Also fires while the user types in a field or holds Ctrl/Alt/Meta, and inside `passThrough` elements
   * (Escape: leave the field, close an overlay). Such a binding does not swallow the key (no preventDefault).
   */
  always?: boolean;
  /** Also fires inside `passThrough` elements (e.g. `?` over the terminal). */
  inPassThrough?: boolean;
}

export interface KeybindingOptions {
  /** A CSS selector for regions that keep their own keys (an xterm.js terminal); only `inPassThrough` bindings fire there. */
  passThrough?: string;
}

/** Whether the key went to a form field, where letters are text and not shortcuts. */
export const isField = (t: EventTarget | null): boolean =>
  t instanceof HTMLElement && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");

/** The binding a keydown triggers, or undefined when it should be left to the page (typing, modifiers, pass-through). */
export function matchKeybinding(
  bindings: readonly Keybinding[],
  e: KeyboardEvent,
  options: KeybindingOptions = {},
): Keybinding | undefined {
  const hit = bindings.find((b) => b.keys.includes(e.key));
  if (!hit || hit.always) return hit;
  if (isField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return undefined;
  const inside = options.passThrough && e.target instanceof Element && e.target.closest(options.passThrough);
  return inside && !hit.inPassThrough ? undefined : hit;
}

/**
 * Window-level keyboard shortcuts. The listener is attached once; it always sees the latest `bindings`,
 * so callers may pass a fresh array every render (no stale closures, no dependency lists to get wrong).
 */
export function useKeybindings(bindings: readonly Keybinding[], options: KeybindingOptions = {}): void {
  const onKey = useEffectEvent((e: KeyboardEvent) => {
    const b = matchKeybinding(bindings, e, options);
    if (!b) return;
    b.run(e);
    if (!b.always) e.preventDefault();
  });
  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey(e);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);
}
