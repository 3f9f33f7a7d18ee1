import { cleanup, renderHook } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { useKeybindings, type Keybinding } from "./useKeybindings";

afterEach(() => {
  cleanup();
  document.body.replaceChildren();
});

/** Dispatch a keydown the way a browser does: on the focused element, bubbling up to window. */
function press(key: string, target: Element = document.body, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  return e;
}

function setup(options?: { passThrough?: string }) {
  const calls: string[] = [];
  const bindings: Keybinding[] = [
    { keys: ["a", "ArrowDown"], run: () => calls.push("a") },
    { keys: ["Escape"], always: true, run: () => calls.push("esc") },
    { keys: ["?"], inPassThrough: true, run: () => calls.push("?") },
  ];
  const hook = renderHook(({ b }) => useKeybindings(b, options), { initialProps: { b: bindings } });
  return { calls, hook };
}

describe("useKeybindings", () => {
  it("runs the binding for each of its keys and swallows the key", () => {
    const { calls } = setup();
    const e1 = press("a");
    const e2 = press("ArrowDown");
    expect(calls).toEqual(["a", "a"]);
    expect(e1.defaultPrevented && e2.defaultPrevented).toBe(true);
  });

  it("leaves unbound keys alone", () => {
    const { calls } = setup();
    const e = press("x");
    expect(calls).toEqual([]);
    expect(e.defaultPrevented).toBe(false);
  });

  it.each(["INPUT", "TEXTAREA", "SELECT"])("ignores keys typed into a %s", (tag) => {
    const { calls } = setup();
    const field = document.body.appendChild(document.createElement(tag));
    const e = press("a", field);
    press("?", field, { shiftKey: true });
    expect(calls).toEqual([]);
    expect(e.defaultPrevented).toBe(false);
  });

  it.each(["ctrlKey", "metaKey", "altKey"] as const)("ignores keys with %s held (browser shortcuts)", (mod) => {
    const { calls } = setup();
    press("a", document.body, { [mod]: true });
    expect(calls).toEqual([]);
  });

  it("lets Shift through (? is Shift+/)", () => {
    const { calls } = setup();
    press("?", document.body, { shiftKey: true });
    expect(calls).toEqual(["?"]);
  });

  it("runs an `always` binding in a field and with modifiers, without swallowing the key", () => {
    const { calls } = setup();
    const input = document.body.appendChild(document.createElement("input"));
    const e = press("Escape", input);
    press("Escape", document.body, { ctrlKey: true });
    expect(calls).toEqual(["esc", "esc"]);
    expect(e.defaultPrevented).toBe(false);
  });

  it("inside a pass-through region only `inPassThrough` and `always` bindings fire", () => {
    const { calls } = setup({ passThrough: ".xterm" });
    const term = document.body.appendChild(document.createElement("div"));
    term.className = "xterm";
    const inner = term.appendChild(document.createElement("div"));
    const e = press("a", inner);
    press("?", inner);
    press("Escape", inner);
    expect(calls).toEqual(["?", "esc"]);
    expect(e.defaultPrevented).toBe(false);
  });

  it("always calls the latest bindings passed in", () => {
    const { calls, hook } = setup();
    const latest = vi.fn();
    hook.rerender({ b: [{ keys: ["a"], run: latest }] });
    press("a");
    expect(latest).toHaveBeenCalledTimes(1);
    expect(calls).toEqual([]);
  });

  it("stops listening on unmount", () => {
    const { calls, hook } = setup();
    hook.unmount();
    press("a");
    expect(calls).toEqual([]);
  });
});
