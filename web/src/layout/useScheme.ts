import { useSyncExternalStore } from "react";
import { currentScheme, onSchemeChange, type Scheme } from "../lib/theme";

/** The colour scheme the page is drawn in (the browser's preference), re-rendering when it changes. */
export function useScheme(): Scheme {
  return useSyncExternalStore(onSchemeChange, currentScheme);
}
