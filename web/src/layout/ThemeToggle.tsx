import { useSyncExternalStore } from "react";
import { onSchemeChange, setThemeChoice, themeChoice, type ThemeChoice } from "../lib/theme";

const NEXT: Record<ThemeChoice, ThemeChoice> = { dark: "auto", auto: "light", light: "dark" };
const TITLE: Record<ThemeChoice, string> = {
  dark: "dark terminal theme (the default); click: follow the browser's preference",
  auto: "following the browser's light/dark preference; click: light",
  light: "light theme; click: dark",
};

/** DARK -> AUTO (the browser's preference) -> LIGHT. */
export function ThemeToggle() {
  const choice = useSyncExternalStore(onSchemeChange, themeChoice);
  return (
    <button className="btn" onClick={() => setThemeChoice(NEXT[choice])} title={TITLE[choice]} aria-label="colour theme">
      ◐ {choice.toUpperCase()}
    </button>
  );
}
