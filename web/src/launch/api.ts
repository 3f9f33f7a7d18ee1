// The launch endpoints (server/api/launch.py): providers, launch, cancel, the launch record, the native log.
import { request } from "../api/client";
import type { Run } from "../api/types";

export interface ProviderCapabilities {
  gpus: boolean;
  gpu_types: string[];
  cpus: boolean;
  memory: boolean;
  time_limit: boolean;
  image: boolean;
  cwd: boolean;
  native_logs: boolean;
}

export interface ProviderInfo {
  name: string;
  reachable: boolean;
  detail: string;
  capabilities: ProviderCapabilities;
}

export interface ProviderList {
  enabled: boolean;
  providers: ProviderInfo[];
  env_allowlist: string[];
  detail?: string | null;
}

export interface LaunchResources {
  cpus?: number | null;
  gpus?: number;
  gpu_type?: string | null;
  memory_mb?: number | null;
  time_limit?: number | null;
}

export interface LaunchBody {
  provider: string;
  argv: string[];
  env: Record<string, string>;
  secrets: Record<string, string>;
  cwd: string | null;
  resources: LaunchResources;
  image: string | null;
  name: string | null;
  project: string;
  config: Record<string, unknown>;
}

export interface LaunchRecord {
  run_id: string;
  provider: string;
  job_id: string | null;
  launched_by: string | null;
  launched_at: number;
  state: string;
  native_state: string | null;
  reason: string | null;
  exit_code: number | null;
  finished: boolean;
  cancel_requested_at: number | null;
  cancelled_by: string | null;
  spec: {
    argv?: string[];
    env?: Record<string, string>;
    secrets?: string[];
    cwd?: string | null;
    resources?: LaunchResources;
    image?: string | null;
    name?: string | null;
    project?: string;
  };
}

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

export async function getLaunch(runId: string): Promise<LaunchRecord> {
  return (await request(`/api/runs/${enc(runId)}/launch`, { headers: { Accept: "application/json" } })).json() as Promise<LaunchRecord>;
}

/** The provider's own log of the job (before `trainboard run` took over), as text. */
export async function getNativeLog(runId: string, limit = 262144): Promise<string> {
  const res = await request(`/api/runs/${enc(runId)}/launch/logs?limit=${limit}`);
  return new TextDecoder().decode(await res.arrayBuffer());
}
