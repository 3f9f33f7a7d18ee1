import { act, renderHook } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { timeline } from "../timeline/moment";
import { useStep } from "./useStep";

afterEach(() => timeline.set(null));

describe("useStep", () => {
  it("shows the latest step, moves with the slider, and follows the time line's moment of its run", () => {
    const steps = [0, 10, 20, 30];
    const { result } = renderHook(() => useStep("run-a", steps));
    expect(result.current[0]).toBe(30);
    act(() => result.current[1](10));
    expect(result.current[0]).toBe(10);
    act(() => timeline.set({ runId: "run-a", step: 18, time: 0, since: null, key: "loss" }));
    expect(result.current[0]).toBe(20); // the nearest logged step
    act(() => timeline.set({ runId: "run-b", step: 1, time: 0, since: null, key: "loss" }));
    expect(result.current[0]).toBe(20); // another run's moment: not ours
  });
});
