import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { newestFirst } from "./AuditPanel";
import { TokensPage } from "./TokensPage";
import { SessionProvider } from "./session";
import { FakeAuthServer } from "./testing";

let server: FakeAuthServer;

beforeEach(() => {
  server = new FakeAuthServer();
  server.users.push({ name: "eve", role: "editor", password: "pw2", disabled: false });
  server.install();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderAs(user: string) {
  server.session = user;
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <SessionProvider>
        <MemoryRouter initialEntries={["/tokens"]}>
          <TokensPage />
        </MemoryRouter>
      </SessionProvider>
    </QueryClientProvider>,
  );
}

function create(name: string, scope?: string) {
  fireEvent.change(screen.getByPlaceholderText("e.g. gpu-box"), { target: { value: name } });
  if (scope) fireEvent.change(screen.getByDisplayValue("read"), { target: { value: scope } });
  fireEvent.click(screen.getByRole("button", { name: "CREATE TOKEN" }));
}

describe("TokensPage", () => {
  it("offers only the scopes of the user's role", async () => {
    renderAs("eve");
    await screen.findByRole("button", { name: "CREATE TOKEN" });
    const scope = screen.getByDisplayValue("read") as HTMLSelectElement;
    expect([...scope.options].map((o) => o.value)).toEqual(["read", "write"]);
    expect(screen.queryByText("USERS")).toBeNull(); // not an admin: no users, audit or everyone's tokens
    expect(screen.queryByText("AUDIT LOG")).toBeNull();
  });

  it("shows a new secret once, with a warning and a copy button, and lists the token without it", async () => {
    renderAs("eve");
    await screen.findByRole("button", { name: "CREATE TOKEN" });
    create("ci", "write");
    const secret = (await screen.findByLabelText("token secret")) as HTMLInputElement;
    expect(secret.value).toMatch(/^tb_abc1SECRET/);
    const region = screen.getByRole("region", { name: "new token" });
    expect(region.textContent).toContain("shown only this once");
    expect(within(region).getByRole("button", { name: "COPY" })).toBeTruthy();
    expect(server.callsTo("POST", "/api/tokens")[0]?.body).toEqual({ name: "ci", scope: "write", expires_in_days: 30 });
    const table = await screen.findByRole("table", { name: "your tokens" });
    await within(table).findByText("ci");
    expect(table.textContent).not.toContain("SECRET");
    fireEvent.click(within(region).getByRole("button", { name: "DONE" }));
    expect(screen.queryByLabelText("token secret")).toBeNull();
    expect(document.body.textContent).not.toContain("SECRET");
  });

  it("copies the secret to the clipboard", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    renderAs("eve");
    await screen.findByRole("button", { name: "CREATE TOKEN" });
    create("ci");
    await screen.findByLabelText("token secret");
    fireEvent.click(screen.getByRole("button", { name: "COPY" }));
    await screen.findByText("copied to the clipboard");
    expect(writeText).toHaveBeenCalledWith("tb_abc1SECRETSECRETSECRETSECRETSECRETSECRET");
  });

  it("revokes only after confirmation", async () => {
    renderAs("eve");
    await screen.findByRole("button", { name: "CREATE TOKEN" });
    create("old");
    const table = await screen.findByRole("table", { name: "your tokens" });
    await within(table).findByText("old");
    fireEvent.click(within(table).getByRole("button", { name: "REVOKE" }));
    expect(server.callsTo("DELETE", "/api/tokens/1")).toHaveLength(0);
    fireEvent.click(within(table).getByRole("button", { name: "CANCEL" }));
    fireEvent.click(within(table).getByRole("button", { name: "REVOKE" }));
    fireEvent.click(within(table).getByRole("button", { name: "YES, REVOKE" }));
    await within(table).findByText("revoked");
    expect(server.callsTo("DELETE", "/api/tokens/1")).toHaveLength(1);
    expect(within(table).queryByRole("button", { name: "REVOKE" })).toBeNull();
  });

  it("renders untrusted names as text", async () => {
    server.tokens.push({
      id: 9,
      name: '<img src=x onerror="window.pwned=1">',
      scope: "read",
      run_id: null,
      prefix: "tb_zzzz",
      created_at: null,
      expires_at: null,
      last_used_at: null,
      revoked: false,
      user: "eve",
    });
    renderAs("eve");
    const table = await screen.findByRole("table", { name: "your tokens" });
    expect(within(table).getByText('<img src=x onerror="window.pwned=1">')).toBeTruthy();
    expect(table.querySelector("img")).toBeNull();
  });

  it("gives an admin everyone's tokens, the users and the audit log", async () => {
    server.tokens.push({
      id: 5, name: "eves-ci", scope: "write", run_id: null, prefix: "tb_eeee", created_at: null, expires_at: null,
      last_used_at: null, revoked: false, user: "eve",
    });
    server.audit = [
      { id: 1, time: 1_764_583_200, user: "ada", action: "login", target: null, detail: null, ip: "127.0.0.1" },
      { id: 2, time: 1_764_586_800, user: "ada", action: "token_create", target: "ci", detail: null, ip: null },
    ];
    renderAs("ada");
    const all = await screen.findByRole("table", { name: "all tokens" });
    await within(all).findByText("eves-ci");
    expect(within(all).getByText("eve")).toBeTruthy();
    const users = await screen.findByRole("table", { name: "users" });
    await within(users).findByText("eve");
    const audit = await screen.findByRole("table", { name: "audit log" });
    const actions = [...audit.querySelectorAll("td.audit-action")].map((td) => td.textContent);
    expect(actions).toEqual(["token_create", "login"]);
  });

  it("lets an admin add a user, change a role, disable and remove (after confirmation)", async () => {
    renderAs("ada");
    const users = await screen.findByRole("table", { name: "users" });
    const form = screen.getByRole("form", { name: "add a user" });
    fireEvent.change(within(form).getByLabelText("name"), { target: { value: "bob" } });
    fireEvent.change(within(form).getByLabelText("role"), { target: { value: "editor" } });
    fireEvent.change(within(form).getByLabelText("password"), { target: { value: "hunter2hunter2" } });
    fireEvent.click(within(form).getByRole("button", { name: "ADD USER" }));
    await within(users).findByText("bob");
    expect(server.callsTo("POST", "/api/users")[0]?.body).toEqual({ name: "bob", role: "editor", password: "hunter2hunter2" });

    fireEvent.change(within(users).getByLabelText("role of bob"), { target: { value: "viewer" } });
    await waitFor(() => expect(server.users.find((u) => u.name === "bob")?.role).toBe("viewer"));

    const bobRow = () => users.querySelector('tr[data-user="bob"]') as HTMLElement;
    fireEvent.click(within(bobRow()).getByRole("button", { name: "DISABLE" }));
    await within(bobRow()).findByText("disabled");
    expect(server.callsTo("PUT", "/api/users/bob").map((c) => c.body)).toEqual([{ role: "viewer" }, { disabled: true }]);

    fireEvent.click(within(bobRow()).getByRole("button", { name: "REMOVE" }));
    expect(server.callsTo("DELETE", "/api/users/bob")).toHaveLength(0);
    fireEvent.click(within(bobRow()).getByRole("button", { name: "YES, REMOVE" }));
    await waitFor(() => expect(users.querySelector('tr[data-user="bob"]')).toBeNull());
    expect(server.callsTo("DELETE", "/api/users/bob")).toHaveLength(1);
  });
});

describe("newestFirst", () => {
  it("orders by time, then id", () => {
    const e = (id: number, time: string) => ({ id, time, user: null, action: "a", target: null, detail: null, ip: null });
    expect(newestFirst([e(1, "2026-01-01T00:00:00Z"), e(3, "2026-01-02T00:00:00Z"), e(2, "2026-01-02T00:00:00Z")]).map((x) => x.id)).toEqual([3, 2, 1]);
  });
});
