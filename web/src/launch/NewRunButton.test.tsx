import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SessionProvider } from "../auth/session";
import { FakeAuthServer } from "../auth/testing";
import { NewRunButton } from "./LaunchDialog";

let server: FakeAuthServer;

beforeEach(() => {
  server = new FakeAuthServer();
  server.users.push(
    { name: "vic", role: "viewer", password: "pw", disabled: false },
    { name: "eli", role: "editor", password: "pw", disabled: false },
    { name: "lee", role: "editor", password: "pw", disabled: false, canLaunch: true },
  );
  server.install();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

async function shownFor(user: string | null, auth = true): Promise<boolean> {
  server.auth = auth;
  server.session = user;
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <SessionProvider>
        <NewRunButton />
        <span>ready</span>
      </SessionProvider>
    </QueryClientProvider>,
  );
  await screen.findByText("ready");
  // wait for /api/auth/me to have answered
  await vi.waitFor(() => expect(server.calls.some((c) => c.path === "/api/auth/me")).toBe(true));
  await new Promise((r) => setTimeout(r, 20));
  const shown = screen.queryByRole("button", { name: "[+ NEW RUN]" }) !== null;
  cleanup();
  return shown;
}

describe("the New run button follows the launch permission of /api/auth/me", () => {
  it("is shown to an admin, an editor granted launch, and with auth off", async () => {
    expect(await shownFor("ada")).toBe(true);
    expect(await shownFor("lee")).toBe(true);
    expect(await shownFor(null, false)).toBe(true);
  });

  it("is not shown to a viewer or an editor without the grant", async () => {
    expect(await shownFor("vic")).toBe(false);
    expect(await shownFor("eli")).toBe(false);
  });
});
