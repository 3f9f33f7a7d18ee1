// Where the browser goes around a login: the place kept for after it, and the one-time login code.
import type { Role, Scope, Time } from "./api";

export const LOGIN_PATH = "/login";

/** `next` when it is a path on this site (not `//host`, not a URL, not the login page itself); else "/". */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if ([...next].some((c) => c.charCodeAt(0) < 0x20 || c === "\u007f")) return "/";
  if (next === LOGIN_PATH || next.startsWith(`${LOGIN_PATH}?`) || next.startsWith(`${LOGIN_PATH}/`)) return "/";
  return next;
}

/** The login page's address, keeping `place` (path + query of the page the user was on) for after it. */
export function loginPath(place: string): string {
  const next = safeNext(place);
  return next === "/" ? LOGIN_PATH : `${LOGIN_PATH}?next=${encodeURIComponent(next)}`;
}

interface LocationLike {
  pathname: string;
  search: string;
  hash: string;
}
interface HistoryLike {
  state: unknown;
  replaceState(data: unknown, unused: string, url?: string | null): void;
}

/**
 * The one-time login code of `/login?code=CODE` (the URL `trainboard serve` prints), taken out of the address bar
 * at once with history.replaceState — before the router, an extension or a screenshot can read it. Called once,
 * before the app renders; null when the address has no code.
 */
export function takeLoginCode(location: LocationLike, history: HistoryLike): string | null {
  if (location.pathname !== LOGIN_PATH) return null;
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (code === null) return null;
  params.delete("code");
  const rest = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
  return code || null;
}

/** The token scopes a user of `role` may create: never more than the role allows; `launch` for those who may
 * launch (admins, and editors an admin granted it). */
export function scopesFor(role: Role, canLaunch = false): Scope[] {
  if (role === "admin") return ["read", "write", "admin", "launch"];
  if (role === "editor") return canLaunch ? ["read", "write", "launch"] : ["read", "write"];
  return ["read"];
}

/** A server time (epoch seconds, or an ISO string) in ms since the epoch; NaN when unreadable. */
export function timeMs(t: Time | null | undefined): number {
  if (typeof t === "number") return t * 1000;
  return t ? Date.parse(t) : NaN;
}

/** "revoked", "expired" or "active" at `now` (ms). */
export function tokenState(t: { revoked: boolean; expires_at: Time | null }, now: number): string {
  if (t.revoked) return "revoked";
  if (t.expires_at !== null && timeMs(t.expires_at) <= now) return "expired";
  return "active";
}

/** The text of a failed login: the server's reason, and for a rate limit how long to wait. */
export function loginErrorText(status: number, detail: string, retryAfter: number | null): string {
  if (status === 429) {
    const wait = retryAfter === null ? "a minute" : `${retryAfter} s`;
    return `Too many login attempts. Try again in ${wait}.`;
  }
  if (status === 401) return "Wrong user name or password.";
  if (status === 0) return `Cannot reach the server: ${detail}`;
  return `Login failed (${status}): ${detail}`;
}
