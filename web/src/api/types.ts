// Shapes of the trainboard HTTP API, as the UI uses them (see /openapi.json and docs/architecture.md).
// Adapters from the wire live beside these in client.ts; nothing else parses server JSON.

import type { components } from "./schema.gen";

/** The server's models, generated from its OpenAPI schema (`npm run gen:api`): the wire cannot drift silently. */
type Schemas = components["schemas"];

export type Run = Schemas["RunPublic"];
export type RunStatus = Run["status"];
export type RunList = Schemas["RunList"];
export type Checkpoint = Schemas["CheckpointOut"];
export type CheckpointLoad = Schemas["CheckpointLoad"];
export type RunEvent = Schemas["EventOut"];
export type LogLine = Schemas["LogLineOut"];
export type LogLines = Schemas["LogLineList"];
export type LogSummary = Schemas["LogSummary"];
export type WireSeries = Schemas["SeriesOut"];
export type MetricHistory = Schemas["MetricHistory"];
export type MetricLatest = Schemas["MetricLatest"];

/** A wire float: numbers, or the strings the protobuf JSON mapping uses for non-finite values. */
export type WireFloat = number | "NaN" | "Infinity" | "-Infinity" | null;

/** One metric series with finite and non-finite values decoded to JS numbers. */
export interface Series {
  count: number;
  step: Float64Array;
  value: Float64Array;
  timestamp: Float64Array;
  /** set when `trainboard run` read the key from printed text: the most significant digits it was printed with */
  parsedDigits?: number;
}

export interface LatestPoint {
  step: number;
  value: number;
  timestamp: number;
}

export interface SystemSample {
  time: number | string;
  cpu_percent?: number;
  ram_percent?: number;
  ram_used?: number;
  ram_total?: number;
  gpus?: GpuSample[];
  [key: string]: unknown;
}

export interface GpuSample {
  index?: number;
  name?: string;
  utilization?: number;
  memory_used?: number;
  memory_total?: number;
  temperature?: number;
  [key: string]: unknown;
}

/** Messages on the dashboard WebSocket `/ws`, server -> client. */
export type WsMessage =
  | { type: "subscribed"; run_id: string }
  | { type: "metric_update"; run_id: string; step: number; metrics: Record<string, WireFloat>; timestamp?: number }
  | { type: "status_change"; run_id: string; old_status: RunStatus; new_status: RunStatus; exit_code?: number | null }
  | { type: "checkpoint_saved"; run_id: string; checkpoint_id: string; metrics: Record<string, WireFloat> }
  | { type: "run_created"; run: Run }
  | { type: "run_deleted"; run_id: string }
  | { type: "event"; run_id: string; [k: string]: unknown }
  | { type: "unsubscribed"; run_id: string }
  | { type: "heartbeat" }
  | { type: "error"; message: string; run_id?: string }
  | { type: "pong" };

/** GET /api/runs/{run_id}/logs/geometry: the terminal sizes a run's output was produced at, by byte offset. */
export type TerminalGeometry = Schemas["TerminalGeometry"];
