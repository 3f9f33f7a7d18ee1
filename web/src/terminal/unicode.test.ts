import { describe, expect, it } from "vitest";
import type { ITerminalAddon } from "@xterm/xterm";
import { activateUnicode11 } from "./unicode";

interface Provider {
  version: string;
  wcwidth(codepoint: number): number;
}

describe("activateUnicode11", () => {
  it("registers the Unicode 11 widths and makes them the active version", () => {
    const providers: Provider[] = [];
    const fake = {
      unicode: { activeVersion: "6", register: (p: Provider) => providers.push(p) },
      loadAddon(addon: ITerminalAddon) {
        addon.activate(fake as never);
      },
    };
    activateUnicode11(fake);
    expect(fake.unicode.activeVersion).toBe("11");
    expect(providers.map((p) => p.version)).toEqual(["11"]);
    const [v11] = providers;
    if (v11 === undefined) throw new Error("no provider registered");
    expect(v11.wcwidth("💡".codePointAt(0)!)).toBe(2);
    expect(v11.wcwidth("训".codePointAt(0)!)).toBe(2);
    expect(v11.wcwidth("a".codePointAt(0)!)).toBe(1);
  });
});
