import { Unicode11Addon } from "@xterm/addon-unicode11";
import type { ITerminalAddon } from "@xterm/xterm";

/** What of a terminal `activateUnicode11` needs (an xterm.js ``Terminal``; a stand-in in tests). */
export interface UnicodeTerminal {
  loadAddon(addon: ITerminalAddon): void;
  unicode: { activeVersion: string };
}

/**
 * Measure characters as a real terminal does: xterm.js's Unicode 11 widths (emoji such as 💡 and CJK take
 * two cells), not its default Unicode 6 table, which draws 💡 one cell wide and so moves every following
 * wrap of the line by one character against tmux and pyte.
 */
export function activateUnicode11(t: UnicodeTerminal): void {
  t.loadAddon(new Unicode11Addon());
  t.unicode.activeVersion = "11";
}
