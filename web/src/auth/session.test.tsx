import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { StrictMode } from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { request } from "../api/client";
import { LoginPage } from "./LoginPage";
import { RequireLogin } from "./RequireLogin";
import { UserMenu } from "./UserMenu";
import { SessionProvider } from "./session";
import { FakeAuthServer } from "./testing";

let server: FakeAuthServer;

beforeEach(() => {
  server = new FakeAuthServer();
  server.install();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function Probe() {
  const loc = useLocation();
  return (
    <div>
      <UserMenu />
      <p>dashboard at {loc.pathname + loc.search}</p>
      <button onClick={() => void request("/api/runs/abc").catch(() => undefined)}>load run</button>
    </div>
  );
}

function Where() {
  const loc = useLocation();
  return <output data-testid="where">{loc.pathname + loc.search}</output>;
}

function renderAt(path: string, code: string | null = null) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <StrictMode>
      <QueryClientProvider client={qc}>
        <SessionProvider code={code}>
          <MemoryRouter initialEntries={[path]}>
            <Routes>
              <Route path="/login" element={<LoginPage />} />
              <Route
                path="*"
                element={
                  <RequireLogin>
                    <Probe />
                  </RequireLogin>
                }
              />
            </Routes>
            <Where />
          </MemoryRouter>
        </SessionProvider>
      </QueryClientProvider>
    </StrictMode>,
  );
}

function logIn(user: string, password: string) {
  fireEvent.change(screen.getByLabelText("user name"), { target: { value: user } });
  fireEvent.change(screen.getByLabelText("password"), { target: { value: password } });
  fireEvent.click(screen.getByRole("button", { name: "LOG IN" }));
}

describe("session", () => {
  it("with auth off shows the dashboard, no login and no user", async () => {
    server.auth = false;
    renderAt("/runs/abc");
    await screen.findByText("dashboard at /runs/abc");
    expect(screen.queryByText("LOGOUT")).toBeNull();
    expect(screen.queryByLabelText("current user")).toBeNull();
  });

  it("sends a stranger to the login page, then back to the run they asked for", async () => {
    renderAt("/runs/abc");
    await screen.findByRole("button", { name: "LOG IN" });
    expect(screen.getByTestId("where").textContent).toBe("/login?next=%2Fruns%2Fabc");
    logIn("ada", "pw");
    await screen.findByText("dashboard at /runs/abc");
    expect(screen.getByLabelText("current user").textContent).toContain("ada");
    expect(screen.getByLabelText("current user").textContent).toContain("ADMIN");
    const [call] = server.callsTo("POST", "/api/auth/login");
    expect(call?.body).toEqual({ username: "ada", password: "pw" });
    expect(call?.headers.get("X-Trainboard")).toBe("1");
  });

  it("says the password was wrong and stays on the login page", async () => {
    renderAt("/");
    await screen.findByRole("button", { name: "LOG IN" });
    logIn("ada", "nope");
    expect((await screen.findByRole("alert")).textContent).toBe("Wrong user name or password.");
    expect((screen.getByLabelText("password") as HTMLInputElement).value).toBe("");
    expect(screen.queryByText(/dashboard at/)).toBeNull();
  });

  it("after too many attempts says how long to wait and holds the button", async () => {
    server.rateLimited = 30;
    renderAt("/");
    await screen.findByRole("button", { name: "LOG IN" });
    logIn("ada", "pw");
    expect((await screen.findByRole("alert")).textContent).toMatch(/Too many login attempts\. Try again in (30|29) s\./);
    expect((screen.getByRole("button", { name: "LOG IN" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("returns to the login page on a 401 (session ended), keeps the place, and comes back after login", async () => {
    server.session = "ada";
    renderAt("/runs/abc?compare=x");
    await screen.findByText("dashboard at /runs/abc?compare=x");
    server.session = null; // the session expires on the server
    fireEvent.click(screen.getByText("load run"));
    await screen.findByText("Your session ended. Log in again to continue where you were.");
    expect(screen.getByTestId("where").textContent).toBe(`/login?next=${encodeURIComponent("/runs/abc?compare=x")}`);
    logIn("ada", "pw");
    await screen.findByText("dashboard at /runs/abc?compare=x");
  });

  it("exchanges the one-time code once (StrictMode mounts twice) and logs in", async () => {
    renderAt("/login", "good-code");
    await screen.findByText("dashboard at /");
    const calls = server.callsTo("POST", "/api/auth/exchange");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ code: "good-code" });
    expect(screen.getByLabelText("current user").textContent).toContain("ada");
  });

  it("explains a used or expired link and offers the password form", async () => {
    renderAt("/login", "used-code");
    await screen.findByText(/This login link was already used or has expired/);
    expect(screen.getByRole("button", { name: "LOG IN" })).toBeTruthy();
  });

  it("logs out: the server forgets the session and the login page shows", async () => {
    server.session = "ada";
    renderAt("/runs/abc");
    await screen.findByText("dashboard at /runs/abc");
    fireEvent.click(screen.getByRole("button", { name: "LOGOUT" }));
    await screen.findByRole("button", { name: "LOG IN" });
    expect(server.callsTo("POST", "/api/auth/logout")).toHaveLength(1);
    expect(server.session).toBeNull();
    expect(screen.queryByText("Your session ended. Log in again to continue where you were.")).toBeNull();
  });
});
