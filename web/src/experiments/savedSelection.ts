// Run selections too long for an address: more than URL_IDS ids (each up to 64 characters) make a URL that
// proxies and servers refuse (8 KB is a common limit), so the ids are kept in this browser's storage under a
// short key and the address carries the key: /compare?sel=KEY. The compare page says the link works only in
// this browser (a filter expression is the way to share a large comparison).

/** Ids up to which the address holds them itself. */
export const URL_IDS = 200;
const PREFIX = "trainboard.selection.";
/** Selections kept; the oldest go first. */
const KEEP = 20;

export interface SavedSelection {
  ids: string[];
  saved: number;
}

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled (privacy settings)
  }
}

/** Keeps `ids` under a new key (pruning the oldest past KEEP); null when the browser keeps nothing. */
export function saveSelection(ids: readonly string[], now = Date.now()): string | null {
  const s = storage();
  if (!s) return null;
  const key = `${now.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  try {
    s.setItem(PREFIX + key, JSON.stringify({ ids: [...ids], saved: now } satisfies SavedSelection));
  } catch {
    return null; // full
  }
  const mine: [string, number][] = [];
  for (let i = 0; i < s.length; i++) {
    const k = s.key(i);
    if (!k?.startsWith(PREFIX)) continue;
    mine.push([k, loadKey(s, k)?.saved ?? 0]);
  }
  mine.sort((a, b) => b[1] - a[1]);
  for (const [k] of mine.slice(KEEP)) s.removeItem(k);
  return key;
}

function loadKey(s: Storage, k: string): SavedSelection | null {
  try {
    const v = JSON.parse(s.getItem(k) ?? "null") as SavedSelection | null;
    return v && Array.isArray(v.ids) && v.ids.every((x) => typeof x === "string") ? v : null;
  } catch {
    return null;
  }
}

/** The selection saved under `key`; null when this browser has none (made in another browser, or pruned). */
export function loadSelection(key: string): SavedSelection | null {
  const s = storage();
  return s ? loadKey(s, PREFIX + key) : null;
}

const madeKeys = new Map<string, string>();

/** The compare page's address for these runs: the ids themselves, or the key of a saved selection past URL_IDS. */
export function compareHref(ids: readonly string[]): string {
  if (ids.length > URL_IDS) {
    // the same ids get the same key (a link rendered on every update saves once)
    const joined = ids.join("\n");
    let key = madeKeys.get(joined) ?? null;
    if (key === null || loadSelection(key) === null) key = saveSelection(ids);
    if (key) {
      madeKeys.set(joined, key);
      if (madeKeys.size > KEEP) madeKeys.delete(madeKeys.keys().next().value as string);
      return `/compare?sel=${key}`;
    }
  }
  return `/compare?runs=${ids.map(encodeURIComponent).join(",")}`;
}
