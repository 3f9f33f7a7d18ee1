import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Checkpoint } from "../api/types";
import { CheckpointTable } from "./CheckpointTable";

const ck = (id: string, step: number, loss: number, best = false): Checkpoint => ({
  id,
  run_id: "r1",
  path: `ckpt/${id}.pt`,
  size: 1024 * step,
  step,
  metrics: { loss },
  metadata: {},
  is_best: best,
  valid: true,
  invalid_reason: null,
  created_at: `2026-11-22T10:00:0${step % 10}Z`,
});

function renderTable(list: Checkpoint[]) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => new Response(JSON.stringify({ checkpoints: list }), { headers: { "Content-Type": "application/json" } })),
  );
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <CheckpointTable runId="r1" />
    </QueryClientProvider>,
  );
}

const order = () => [...document.querySelectorAll("tbody tr")].map((tr) => tr.getAttribute("data-checkpoint-id"));

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("CheckpointTable", () => {
  it("sorts by step (newest first) and re-sorts when a header is clicked", async () => {
    renderTable([ck("c1", 1, 0.9), ck("c3", 3, 0.2, true), ck("c2", 2, 0.5)]);
    await waitFor(() => expect(order()).toHaveLength(3));
    expect(order()).toEqual(["c3", "c2", "c1"]);
    fireEvent.click(screen.getByText("LOSS"));
    // a click on a new column sorts it; clicking again flips the direction
    const first = order();
    fireEvent.click(screen.getByText(/^LOSS/));
    const second = order();
    expect([first, second]).toContainEqual(["c3", "c2", "c1"]);
    expect([first, second]).toContainEqual(["c1", "c2", "c3"]);
  });

  it("marks the best checkpoint with a star", async () => {
    renderTable([ck("c1", 1, 0.9), ck("c3", 3, 0.2, true)]);
    await waitFor(() => expect(order()).toHaveLength(2));
    const best = document.querySelector('tr[data-checkpoint-id="c3"]');
    expect(best?.textContent).toContain("★");
    expect(document.querySelector('tr[data-checkpoint-id="c1"]')?.textContent).not.toContain("★");
  });
});
