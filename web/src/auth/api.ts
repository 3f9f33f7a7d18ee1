// The auth endpoints the browser uses (/work/notes/auth-api.md): session, tokens, users, audit.
import { ApiError, query, request } from "../api/client";

export type Role = "viewer" | "editor" | "admin";
export type Scope = "read" | "write" | "admin" | "launch";
export const ROLES: readonly Role[] = ["viewer", "editor", "admin"];

export interface AuthUser {
  name: string;
  role: Role;
}

/** GET /api/auth/me: whether the server asks for credentials, and who this browser is. */
export interface Me {
  auth: boolean;
  user: AuthUser | null;
  via: "none" | "session" | "token" | "proxy";
  /** may launch runs now (an admin, or an editor an admin granted launch); absent from older servers */
  can_launch?: boolean;
}

/** The server sends times as epoch seconds; ISO strings are accepted too. */
export type Time = number | string;

export interface TokenInfo {
  id: string | number;
  name: string;
  scope: string;
  run_id: string | null;
  prefix: string;
  created_at: Time | null;
  expires_at: Time | null;
  last_used_at: Time | null;
  revoked: boolean;
  /** null: a service token, not tied to a user */
  user: string | null;
}

/** The answer to a token creation: the only time the secret is shown. */
export interface NewToken extends TokenInfo {
  token: string;
}

export interface UserInfo {
  name: string;
  role: Role;
  disabled?: boolean;
  created_at?: Time | null;
}

export interface AuditEntry {
  id: string | number;
  time: Time;
  user: string | null;
  action: string;
  target: string | null;
  detail: unknown;
  ip: string | null;
}

const JSON_HEADERS = { "Content-Type": "application/json", Accept: "application/json" };
const enc = encodeURIComponent;

async function send<T>(path: string, method: string, body?: unknown, expect401 = false): Promise<T> {
  const init: RequestInit = { method, headers: JSON_HEADERS, credentials: "same-origin" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await request(path, init, expect401);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

// ---- session (a 401 here is an answer for the login form, not an ended session)
export async function getMe(): Promise<Me> {
  try {
    return await send<Me>("/api/auth/me", "GET", undefined, true);
  } catch (e) {
    // a server from before authentication has no such route: nothing to log in to
    if (e instanceof ApiError && e.status === 404) return { auth: false, user: null, via: "none" };
    throw e;
  }
}
export function login(username: string, password: string): Promise<{ user: AuthUser }> {
  return send("/api/auth/login", "POST", { username, password }, true);
}
export function exchangeCode(code: string): Promise<{ user?: AuthUser }> {
  return send("/api/auth/exchange", "POST", { code }, true);
}
export async function logout(): Promise<void> {
  await send<undefined>("/api/auth/logout", "POST", undefined, true);
}

// ---- tokens
export async function listTokens(all = false): Promise<TokenInfo[]> {
  const body = await send<{ tokens: TokenInfo[] }>(`/api/tokens${query({ all: all || undefined })}`, "GET");
  return body.tokens ?? [];
}
export function createToken(body: { name: string; scope: Scope; expires_in_days?: number }): Promise<NewToken> {
  return send<NewToken>("/api/tokens", "POST", body);
}
export async function revokeToken(id: string | number): Promise<void> {
  await send<undefined>(`/api/tokens/${enc(String(id))}`, "DELETE");
}

// ---- users (admin)
export async function listUsers(): Promise<UserInfo[]> {
  const body = await send<{ users: UserInfo[] } | UserInfo[]>("/api/users", "GET");
  return Array.isArray(body) ? body : (body.users ?? []);
}
export function createUser(body: { name: string; role: Role; password: string }): Promise<UserInfo> {
  return send<UserInfo>("/api/users", "POST", body);
}
export function updateUser(name: string, body: { role?: Role; password?: string; disabled?: boolean }): Promise<UserInfo> {
  return send<UserInfo>(`/api/users/${enc(name)}`, "PUT", body);
}
export async function deleteUser(name: string): Promise<void> {
  await send<undefined>(`/api/users/${enc(name)}`, "DELETE");
}

// ---- audit (admin)
export async function listAudit(limit = 200): Promise<AuditEntry[]> {
  const body = await send<{ entries: AuditEntry[] }>(`/api/audit${query({ limit })}`, "GET");
  return body.entries ?? [];
}
