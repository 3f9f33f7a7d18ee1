// The launch endpoints (server/api/launch.py): providers, launch, cancel, the launch record, the native log.
import { request } from "../api/client";
import type { components } from "../api/schema.gen";
import type { Run } from "../api/types";

type Schemas = components["schemas"];

/** What a provider supports (the schema leaves `capabilities` open; this is what base.Capabilities sends). */
export interface ProviderCapabilities {
  gpus: boolean;
  gpu_types: string[];
  cpus: boolean;
  memory: boolean;
  time_limit: boolean;
  image: boolean;
  cwd: boolean;
  native_logs: boolean;
  /** The image a launch naming none runs (providers.toml's default); the image is optional then. */
  default_image?: string | null;
  /** the per-launch options the provider takes (RunPod: volume, interruptible, bid_per_gpu, ...) */
  options?: string[];
}

/** POST /api/launch's `runpod` object (server/providers/runpod_options.py). */
export interface RunPodOptions {
  volume?: { id?: string | null; size_gb?: number | null; mount_path?: string | null };
  interruptible?: boolean;
  bid_per_gpu?: number;
  data_center_id?: string;
  cuda_versions?: string[];
}

export type ProviderInfo = Omit<Schemas["ProviderOut"], "capabilities"> & { capabilities: ProviderCapabilities };
export type ProviderList = Omit<Schemas["ProviderList"], "providers"> & { providers: ProviderInfo[] };
// openapi-typescript reads the schema's `prefixItems` (the program word's rule) as a one-word tuple
export type LaunchBody = Omit<Schemas["LaunchRequest"], "argv" | "runpod" | "resume_from"> & {
  argv: string[];
  runpod?: RunPodOptions;
  resume_from?: string;
};
export type LaunchResources = Partial<Schemas["ResourcesIn"]>;

/** The launch spec as the server stores it (no secret values: only their names). */
export interface LaunchSpec {
  argv?: string[];
  env?: Record<string, string>;
  secrets?: string[];
  cwd?: string | null;
  resources?: LaunchResources;
  image?: string | null;
  name?: string | null;
  project?: string;
  /** the per-launch RunPod options asked for */
  options?: RunPodOptions;
  /** the price the run is billed at, or why there is none */
  price?: { usd_per_hour: number | null; source: string };
  /** the checkpoint this run resumed from */
  resume_from?: { run_id: string; checkpoint_id: string; path: string; step: number | null };
  /** what the provider reported about the job (RunPod: pod_id, gpu_name, gpu_count, cost_per_hr) */
  job?: Record<string, unknown>;
}

/** A run's cost (GET /api/runs/{id}'s `cost`): null when the price is not known. */
export interface RunCost {
  usd: number;
  usd_per_hour: number;
  source: string;
  hours: number;
  live: boolean;
}

export type LaunchRecord = Omit<Schemas["LaunchRecord"], "spec"> & { spec: LaunchSpec };

const enc = encodeURIComponent;
const JSON_HEADERS = { "Content-Type": "application/json", Accept: "application/json" };

export async function getProviders(): Promise<ProviderList> {
  return (await request("/api/providers", { headers: { Accept: "application/json" } })).json() as Promise<ProviderList>;
}

export async function launchRun(body: LaunchBody): Promise<Run> {
  const res = await request("/api/launch", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
  return res.json() as Promise<Run>;
}

export async function cancelRun(runId: string): Promise<Run> {
  const res = await request(`/api/runs/${enc(runId)}/cancel`, { method: "POST", headers: { Accept: "application/json" } });
  return res.json() as Promise<Run>;
}

/** The run's launch record; `null` for a run started by hand (the server answers 204). */
export async function getLaunch(runId: string): Promise<LaunchRecord | null> {
  const res = await request(`/api/runs/${enc(runId)}/launch`, { headers: { Accept: "application/json" } });
  return res.status === 204 ? null : ((await res.json()) as LaunchRecord);
}

/** The provider's own log of the job (before `trainboard run` took over), as text. */
export async function getNativeLog(runId: string, limit = 262144): Promise<string> {
  const res = await request(`/api/runs/${enc(runId)}/launch/logs?limit=${limit}`);
  return new TextDecoder().decode(await res.arrayBuffer());
}
