import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useParams } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Run } from "../api/types";
import type { LaunchRecord, ProviderList } from "./api";
import { closeLaunchDialog, openLaunchDialog } from "./dialogStore";
import { LaunchDialogHost } from "./LaunchDialog";
import { LaunchInfo } from "./LaunchInfo";

interface Call {
  method: string;
  path: string;
  body: unknown;
}

const PROVIDERS: ProviderList = {
  enabled: true,
  env_allowlist: ["HF_*", "SEED"],
  providers: [
    {
      name: "local",
      reachable: true,
      detail: "this machine",
      capabilities: { gpus: false, gpu_types: [], cpus: false, memory: false, time_limit: false, image: false, cwd: true, native_logs: true },
    },
    {
      name: "runpod",
      reachable: false,
      detail: "https://api.runpod.io cannot be reached",
      capabilities: { gpus: true, gpu_types: ["NVIDIA A100 80GB PCIe"], cpus: true, memory: true, time_limit: true, image: true, cwd: true, native_logs: false, default_image: "runpod/pytorch:2.4.0" },
    },
  ],
};

const RUN = {
  id: "r1",
  name: "baseline",
  project: "vision",
  status: "running",
  config: { lr: 0.001, command: ["python", "old.py"], cwd: "/somewhere" },
  start_time: "2026-12-01T10:00:00Z",
  end_time: null,
  exit_code: null,
} as unknown as Run;

const LAUNCH: LaunchRecord = {
  run_id: "r1",
  provider: "local",
  job_id: "4242",
  launched_by: "ada",
  launched_at: 1_800_000_000,
  state: "running",
  native_state: null,
  reason: null,
  exit_code: null,
  finished: false,
  cancel_requested_at: null,
  cancelled_by: null,
  spec: { argv: ["python", "train.py", "--name", "my run"], env: { SEED: "1" }, cwd: "exp", resources: {}, project: "vision" },
};

let calls: Call[];
let launch: LaunchRecord | null;
let launchAnswer: { status: number; body: unknown };

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

beforeEach(() => {
  calls = [];
  launch = { ...LAUNCH };
  launchAnswer = { status: 201, body: { ...RUN, id: "new-run", status: "queued" } };
  vi.stubGlobal(
    "fetch",
    vi.fn((input: string, init?: RequestInit) => {
      const url = new URL(input, "http://127.0.0.1:8000");
      const method = init?.method ?? "GET";
      calls.push({ method, path: url.pathname, body: init?.body ? JSON.parse(String(init.body)) : null });
      if (url.pathname === "/api/providers") return Promise.resolve(json(200, PROVIDERS));
      if (url.pathname === "/api/launch") return Promise.resolve(json(launchAnswer.status, launchAnswer.body));
      if (url.pathname === "/api/runs/r1/launch") return Promise.resolve(launch ? json(200, launch) : json(404, { detail: "not launched" }));
      if (url.pathname === "/api/runs/r1/cancel") {
        if (launch) launch = { ...launch, cancel_requested_at: 1_800_000_100, cancelled_by: "ada" };
        return Promise.resolve(json(200, { ...RUN, status: "interrupted" }));
      }
      if (url.pathname === "/api/runs/r1/launch/logs") return Promise.resolve(new Response("bash: nosuchcmd: command not found\n"));
      return Promise.resolve(json(404, { detail: "unknown" }));
    }),
  );
});
afterEach(() => {
  act(() => closeLaunchDialog());
  cleanup();
  vi.unstubAllGlobals();
});

function RunPage() {
  return <div data-testid="page">run {useParams().runId}</div>;
}

function renderWith(node: React.ReactNode) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={["/"]}>
        {node}
        <LaunchDialogHost />
        <Routes>
          <Route path="/runs/:runId" element={<RunPage />} />
          <Route path="*" element={null} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const command = () => screen.getByRole("textbox", { name: /command/ }) as HTMLTextAreaElement;
const words = () => screen.getAllByTestId("argv-word").map((li) => li.textContent);

describe("New run dialog", () => {
  it("shows providers with reachability and only the chosen provider's fields", async () => {
    renderWith(null);
    act(() => openLaunchDialog());
    const select = (await screen.findByRole("combobox", { name: /provider/ })) as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("local"));
    expect([...select.options].map((o) => o.textContent)).toEqual(["local ● reachable", "runpod ✗ unreachable"]);
    expect(screen.queryByRole("textbox", { name: /image/ })).toBeNull();
    fireEvent.change(select, { target: { value: "runpod" } });
    expect(screen.getByText("https://api.runpod.io cannot be reached")).toBeTruthy();
    const image = screen.getByRole("textbox", { name: /image/ }) as HTMLInputElement;
    expect(image.placeholder).toBe("runpod/pytorch:2.4.0"); // optional: the server's default image
    expect(screen.getByRole("combobox", { name: /GPU type/ })).toBeTruthy();
  });

  it("shows the argv a command line becomes, and launches exactly that argv", async () => {
    renderWith(null);
    act(() => openLaunchDialog());
    await waitFor(() => expect((screen.getByRole("combobox", { name: /provider/ }) as HTMLSelectElement).value).toBe("local"));
    fireEvent.change(command(), { target: { value: `python -c "print('a b')" | tee $HOME/x` } });
    expect(words()).toEqual(["0python", "1-c", "2print('a b')", "3|", "4tee", "5$HOME/x"].map((w) => w.slice(1)));
    expect(screen.getByText(/no shell: operators, variables are passed to the program as plain text/)).toBeTruthy();
    fireEvent.change(screen.getByRole("textbox", { name: /environment/ }), { target: { value: "SEED=3" } });
    fireEvent.click(screen.getByRole("button", { name: "[LAUNCH]" }));
    await screen.findByTestId("page");
    expect(screen.getByTestId("page").textContent).toBe("run new-run");
    const sent = calls.find((c) => c.path === "/api/launch");
    expect(sent?.body).toMatchObject({
      provider: "local",
      argv: ["python", "-c", "print('a b')", "|", "tee", "$HOME/x"],
      env: { SEED: "3" },
      secrets: {},
    });
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("refuses an unterminated quote and an env name off the allowlist before sending", async () => {
    renderWith(null);
    act(() => openLaunchDialog());
    await waitFor(() => expect((screen.getByRole("combobox", { name: /provider/ }) as HTMLSelectElement).value).toBe("local"));
    fireEvent.change(command(), { target: { value: `python -c "oops` } });
    expect(screen.getByText(`unterminated " (column 11)`)).toBeTruthy();
    fireEvent.change(command(), { target: { value: "python t.py" } });
    fireEvent.change(screen.getByRole("textbox", { name: /environment/ }), { target: { value: "LD_PRELOAD=/evil.so" } });
    fireEvent.click(screen.getByRole("button", { name: "[LAUNCH]" }));
    expect(await screen.findByText(/not in the server's allowlist: LD_PRELOAD/)).toBeTruthy();
    expect(calls.some((c) => c.path === "/api/launch")).toBe(false);
  });

  it("shows the server's refusal", async () => {
    launchAnswer = { status: 422, body: { detail: [{ loc: ["body", "cwd"], msg: "cwd must be inside the launch root" }] } };
    renderWith(null);
    act(() => openLaunchDialog());
    await waitFor(() => expect((screen.getByRole("combobox", { name: /provider/ }) as HTMLSelectElement).value).toBe("local"));
    fireEvent.change(command(), { target: { value: "python t.py" } });
    fireEvent.click(screen.getByRole("button", { name: "[LAUNCH]" }));
    expect((await screen.findByRole("alert")).textContent).toBe("launch refused: cwd must be inside the launch root");
    expect(screen.getByRole("dialog")).toBeTruthy();
  });

  it("edits the command as a list of words", async () => {
    renderWith(null);
    act(() => openLaunchDialog());
    await waitFor(() => expect((screen.getByRole("combobox", { name: /provider/ }) as HTMLSelectElement).value).toBe("local"));
    fireEvent.change(command(), { target: { value: "python 'my script.py'" } });
    fireEvent.click(screen.getByRole("button", { name: "[EDIT AS LIST]" }));
    expect((screen.getByRole("textbox", { name: "argv 1" }) as HTMLInputElement).value).toBe("my script.py");
    fireEvent.click(screen.getByRole("button", { name: "[+ WORD]" }));
    fireEvent.change(screen.getByRole("textbox", { name: "argv 2" }), { target: { value: "--lr=1e-3" } });
    fireEvent.click(screen.getByRole("button", { name: "[EDIT AS LINE]" }));
    expect(command().value).toBe("python 'my script.py' --lr=1e-3");
  });
});

describe("LaunchInfo", () => {
  it("shows provider and job id, and cancels only after confirmation", async () => {
    renderWith(<LaunchInfo run={RUN} />);
    expect((await screen.findByTestId("launch-provider")).textContent).toBe("local");
    expect(screen.getByTestId("launch-job-id").textContent).toBe("4242");
    fireEvent.click(screen.getByRole("button", { name: "[CANCEL RUN]" }));
    expect(calls.some((c) => c.path.endsWith("/cancel"))).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "[NO, KEEP IT RUNNING]" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "[CANCEL RUN]" }));
    fireEvent.click(screen.getByRole("button", { name: "[YES, CANCEL THE RUN]" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "POST" && c.path === "/api/runs/r1/cancel")).toHaveLength(1));
    expect(await screen.findByText(/asked .* by ada/)).toBeTruthy();
  });

  it("Run again opens the dialog with the launch's argv, env and the run's config, never the recorded command", async () => {
    renderWith(<LaunchInfo run={RUN} />);
    fireEvent.click(await screen.findByRole("button", { name: "[RUN AGAIN]" }));
    expect(await screen.findByText("RUN AGAIN · baseline")).toBeTruthy();
    expect(command().value).toBe("python train.py --name 'my run'");
    expect((screen.getByRole("textbox", { name: /environment/ }) as HTMLTextAreaElement).value).toBe("SEED=1");
    expect((screen.getByRole("textbox", { name: /working directory/ }) as HTMLInputElement).value).toBe("exp");
    expect(JSON.parse((screen.getByRole("textbox", { name: /config/ }) as HTMLTextAreaElement).value)).toEqual({ lr: 0.001 });
  });

  it("for a run started by hand, Run again uses the command trainboard run recorded; no cancel", async () => {
    launch = null;
    renderWith(<LaunchInfo run={RUN} />);
    fireEvent.click(await screen.findByRole("button", { name: "[RUN AGAIN]" }));
    expect(command().value).toBe("python old.py");
    expect(screen.queryByRole("button", { name: "[CANCEL RUN]" })).toBeNull();
    expect(screen.queryByTestId("launch-provider")).toBeNull();
  });

  it("shows the provider's own log when the job ended before trainboard run", async () => {
    launch = { ...LAUNCH, state: "failed", finished: true, reason: "command not found", exit_code: 127 };
    renderWith(<LaunchInfo run={{ ...RUN, status: "failed", log_size: 0 } as Run} />);
    const log = await screen.findByLabelText("provider log");
    expect(log.textContent).toContain("bash: nosuchcmd: command not found");
    expect(log.textContent).toContain("never reached `trainboard run`");
    expect(screen.queryByRole("button", { name: "[CANCEL RUN]" })).toBeNull();
  });
});
