// A stand-in for the server's auth API behind a mocked fetch (Vitest only): one browser, one cookie.
import { vi } from "vitest";
import type { AuditEntry, Role, TokenInfo, UserInfo } from "./api";

export interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Headers;
}

export class FakeAuthServer {
  auth = true;
  users: (UserInfo & { password: string; canLaunch?: boolean })[] = [
    { name: "ada", role: "admin", password: "pw", disabled: false },
  ];
  session: string | null = null;
  codes = new Set<string>(["good-code"]);
  tokens: TokenInfo[] = [];
  audit: AuditEntry[] = [];
  calls: Call[] = [];
  /** answer the next login with 429 and this Retry-After */
  rateLimited: number | null = null;
  private nextId = 1;

  install(): void {
    vi.stubGlobal("fetch", vi.fn((input: string, init?: RequestInit) => Promise.resolve(this.handle(input, init))));
  }

  private json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(status === 204 ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    });
  }

  private me(): (UserInfo & { password: string; canLaunch?: boolean }) | undefined {
    return this.users.find((u) => u.name === this.session);
  }

  handle(input: string, init?: RequestInit): Response {
    const url = new URL(input, "http://127.0.0.1:8000");
    const method = (init?.method ?? "GET").toUpperCase();
    const body: unknown = typeof init?.body === "string" ? JSON.parse(init.body) : null;
    this.calls.push({ method, path: url.pathname + url.search, body, headers: new Headers(init?.headers) });
    const p = url.pathname;
    const b = (body ?? {}) as Record<string, unknown>;
    if (p === "/api/auth/me") {
      const u = this.auth ? this.me() : undefined;
      const canLaunch = !this.auth || u?.role === "admin" || (u?.role === "editor" && !!u.canLaunch);
      return this.json(200, {
        auth: this.auth,
        user: u ? { name: u.name, role: u.role } : null,
        via: u ? "session" : "none",
        can_launch: canLaunch,
      });
    }
    if (p === "/api/auth/login" && method === "POST") {
      if (this.rateLimited !== null)
        return this.json(429, { detail: "too many login attempts" }, { "Retry-After": String(this.rateLimited) });
      const u = this.users.find((x) => x.name === b.username && x.password === b.password);
      if (!u) return this.json(401, { detail: "wrong user name or password" });
      this.session = u.name;
      return this.json(200, { user: { name: u.name, role: u.role } });
    }
    if (p === "/api/auth/exchange" && method === "POST") {
      if (typeof b.code !== "string" || !this.codes.delete(b.code)) return this.json(401, { detail: "invalid code" });
      this.session = this.users[0]?.name ?? null;
      return this.json(200, {});
    }
    if (p === "/api/auth/logout" && method === "POST") {
      this.session = null;
      return this.json(204, null);
    }
    const u = this.me();
    if (this.auth && !u) return this.json(401, { detail: "not authenticated" });
    if (p === "/api/tokens" && method === "GET") {
      const all = url.searchParams.get("all") === "true" && u?.role === "admin";
      return this.json(200, { tokens: this.tokens.filter((t) => all || t.user === u?.name) });
    }
    if (p === "/api/tokens" && method === "POST") {
      const id = this.nextId++;
      const t: TokenInfo = {
        id,
        name: String(b.name),
        scope: String(b.scope),
        run_id: null,
        prefix: `tb_abc${id}`,
        created_at: 1_764_590_400,
        expires_at: typeof b.expires_in_days === "number" ? 4_070_908_800 : null,
        last_used_at: null,
        revoked: false,
        user: u?.name ?? "",
      };
      this.tokens.push(t);
      return this.json(201, { ...t, token: `tb_abc${id}SECRETSECRETSECRETSECRETSECRETSECRET` });
    }
    const tok = /^\/api\/tokens\/(.+)$/.exec(p);
    if (tok && method === "DELETE") {
      const t = this.tokens.find((x) => String(x.id) === decodeURIComponent(tok[1] ?? ""));
      if (!t) return this.json(404, { detail: "no such token" });
      t.revoked = true;
      return this.json(204, null);
    }
    if (p === "/api/users" && method === "GET")
      return this.json(200, { users: this.users.map(({ password: _, ...rest }) => rest) });
    if (p === "/api/users" && method === "POST") {
      this.users.push({ name: String(b.name), role: b.role as Role, password: String(b.password), disabled: false });
      return this.json(201, { name: b.name, role: b.role });
    }
    const usr = /^\/api\/users\/(.+)$/.exec(p);
    if (usr) {
      const name = decodeURIComponent(usr[1] ?? "");
      const target = this.users.find((x) => x.name === name);
      if (!target) return this.json(404, { detail: "no such user" });
      if (method === "DELETE") {
        this.users = this.users.filter((x) => x !== target);
        return this.json(204, null);
      }
      if (method === "PUT") {
        if (b.role) target.role = b.role as Role;
        if (typeof b.disabled === "boolean") target.disabled = b.disabled;
        return this.json(200, { name: target.name, role: target.role, disabled: target.disabled });
      }
    }
    if (p === "/api/audit") return this.json(200, { entries: this.audit });
    if (p === "/api/runs/abc") return this.json(200, { id: "abc" });
    return this.json(404, { detail: "not found" });
  }

  callsTo(method: string, path: string): Call[] {
    return this.calls.filter((c) => c.method === method && c.path === path);
  }
}
