import { describe, expect, it } from "vitest";
import { withWriteMarker } from "./client";

describe("withWriteMarker", () => {
  it("marks every state-changing method, with or without a body", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "post"]) {
      const init = withWriteMarker({ method });
      expect(new Headers(init?.headers).get("X-Trainboard")).toBe("1");
    }
  });

  it("keeps the caller's headers", () => {
    const init = withWriteMarker({ method: "POST", headers: { "Content-Type": "application/json" } });
    const headers = new Headers(init?.headers);
    expect(headers.get("Content-Type")).toBe("application/json");
    expect(headers.get("X-Trainboard")).toBe("1");
  });

  it("leaves reads alone", () => {
    expect(withWriteMarker(undefined)).toBeUndefined();
    const init = { headers: { Accept: "application/json" } };
    expect(withWriteMarker(init)).toBe(init);
    expect(new Headers(withWriteMarker({ method: "GET" })?.headers).get("X-Trainboard")).toBeNull();
  });
});
