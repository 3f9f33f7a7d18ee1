// The dialog's fields -> the POST /api/launch body, with a message per field the user can fix. Pure functions.
import type { LaunchBody, ProviderCapabilities, RunPodOptions } from "./api";

export interface FormFields {
  provider: string;
  argv: string[];
  envText: string;
  secrets: { name: string; value: string }[];
  cwd: string;
  cpus: string;
  gpus: string;
  gpuType: string;
  memory: string;
  timeLimit: string;
  image: string;
  name: string;
  project: string;
  configText: string;
  /** resume from this run's last checkpoint ("": start afresh) */
  resumeFrom: string;
  /** RunPod per-launch options ("" / false: providers.toml's value) */
  rpVolumeId: string;
  rpVolumeSize: string;
  rpMountPath: string;
  rpInterruptible: boolean;
  rpBid: string;
  rpDataCenter: string;
  rpCuda: string;
}

export type FieldErrors = Partial<Record<keyof FormFields | "argv", string>>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `KEY=VALUE` per line; blank lines and `#` comments skipped. */
export function parseEnv(text: string): { env: Record<string, string>; error: string | null } {
  const env: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !ENV_NAME.test(key)) return { env, error: `line ${i + 1}: expected NAME=value` };
    if (key in env) return { env, error: `line ${i + 1}: ${key} is set twice` };
    env[key] = line.slice(eq + 1);
  }
  return { env, error: null };
}

/** Shell-style patterns of the server's allowlist (`HF_*`) as a test. */
export function allowedBy(patterns: readonly string[]): (name: string) => boolean {
  const res = patterns.map(
    (p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`),
  );
  return (name) => res.some((r) => r.test(name));
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90" (minutes), "45m", "2h", "1h30m", "1d" -> seconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) return Number(t) * 60;
  const parts = [...t.matchAll(/(\d+)\s*([smhd])/g)];
  if (!parts.length || parts.map((p) => p[0]).join("").replace(/\s/g, "") !== t.replace(/\s/g, "")) return null;
  return parts.reduce((n, p) => n + Number(p[1]) * (UNITS[p[2] as string] as number), 0);
}

/** "16G", "16GB", "512M", "2048" (MiB) -> MiB; null when malformed. */
export function parseMemory(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(g|gb|gib|m|mb|mib)?$/i.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? "m").toLowerCase();
  const mib = unit.startsWith("g") ? n * 1024 : n;
  return mib >= 1 ? Math.round(mib) : null;
}

/** The request body, or the errors to show beside the fields. Only what the provider supports is sent. */
export function buildLaunch(
  f: FormFields,
  caps: ProviderCapabilities | null,
  allowlist: readonly string[],
): { body: LaunchBody | null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!f.provider) errors.provider = "choose a provider";
  if (f.argv.length === 0 || !(f.argv[0] ?? "").trim()) errors.argv = "enter the command to run";
  const { env, error } = parseEnv(f.envText);
  if (error) errors.envText = error;
  else {
    const ok = allowedBy(allowlist);
    const refused = Object.keys(env).filter((k) => !ok(k));
    if (refused.length) errors.envText = `not in the server's allowlist: ${refused.join(", ")} (pass API keys as secrets)`;
  }
  const secrets: Record<string, string> = {};
  for (const s of f.secrets) {
    const name = s.name.trim();
    if (!name && !s.value) continue;
    if (!ENV_NAME.test(name)) errors.secrets = `secret name ${JSON.stringify(name)} is not a variable name`;
    else if (name in env) errors.secrets = `${name} is both an environment variable and a secret`;
    else secrets[name] = s.value;
  }
  let config: Record<string, unknown> = {};
  if (f.configText.trim()) {
    try {
      const parsed: unknown = JSON.parse(f.configText);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) errors.configText = "config must be a JSON object";
      else config = parsed as Record<string, unknown>;
    } catch (e) {
      errors.configText = `config is not valid JSON: ${(e as Error).message}`;
    }
  }
  const resources: NonNullable<LaunchBody["resources"]> = { gpus: 0 };
  if (caps?.cpus && f.cpus.trim()) {
    const n = Number(f.cpus);
    if (!(n > 0)) errors.cpus = "CPUs must be a positive number";
    else resources.cpus = n;
  }
  if (caps?.gpus && f.gpus.trim()) {
    const n = Number(f.gpus);
    if (!Number.isInteger(n) || n < 0) errors.gpus = "GPUs must be a whole number";
    else resources.gpus = n;
  }
  if (caps?.gpus && f.gpuType) resources.gpu_type = f.gpuType;
  if (caps?.memory && f.memory.trim()) {
    const mib = parseMemory(f.memory);
    if (mib === null) errors.memory = "memory like 16G or 512M";
    else resources.memory_mb = mib;
  }
  if (caps?.time_limit && f.timeLimit.trim()) {
    const s = parseDuration(f.timeLimit);
    if (!s) errors.timeLimit = "a duration like 90m, 2h or 1h30m";
    else resources.time_limit = s;
  }
  if (caps?.image && !caps.default_image && !f.image.trim()) errors.image = "this provider runs a container image: name one";
  const runpod = caps?.options?.length ? runpodOptions(f, errors) : null;
  if (Object.keys(errors).length) return { body: null, errors };
  return {
    body: {
      provider: f.provider,
      argv: f.argv,
      env,
      secrets,
      cwd: caps?.cwd === false || !f.cwd.trim() ? null : f.cwd.trim(),
      resources,
      image: caps?.image && f.image.trim() ? f.image.trim() : null,
      name: f.name.trim() || null,
      project: f.project.trim() || "default",
      config,
      ...(runpod ? { runpod } : {}),
      ...(f.resumeFrom ? { resume_from: f.resumeFrom } : {}),
    },
    errors,
  };
}

/** The `runpod` object of the body: only what the user filled in (the rest stays providers.toml's). */
export function runpodOptions(f: FormFields, errors: FieldErrors): RunPodOptions | null {
  const out: RunPodOptions = {};
  const volume: NonNullable<RunPodOptions["volume"]> = {};
  const id = f.rpVolumeId.trim();
  if (id) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) errors.rpVolumeId = "a RunPod network volume id (letters, digits, _ -)";
    else volume.id = id;
  }
  if (f.rpVolumeSize.trim()) {
    const n = Number(f.rpVolumeSize);
    if (!Number.isInteger(n) || n < 0 || n > 10000) errors.rpVolumeSize = "a size in GB from 0 to 10000";
    else volume.size_gb = n;
  }
  const mount = f.rpMountPath.trim();
  if (mount) {
    if (!mount.startsWith("/") || /["\\]/.test(mount)) errors.rpMountPath = "an absolute path like /workspace";
    else volume.mount_path = mount;
  }
  if (Object.keys(volume).length) out.volume = volume;
  if (f.rpInterruptible) out.interruptible = true;
  if (f.rpBid.trim()) {
    const n = Number(f.rpBid);
    if (!(n > 0 && n < 1000)) errors.rpBid = "a bid in $/GPU/hour, above 0";
    else out.bid_per_gpu = n;
  }
  const dc = f.rpDataCenter.trim().toUpperCase();
  if (dc) {
    if (!/^[A-Z0-9-]{1,32}$/.test(dc)) errors.rpDataCenter = "a data centre id like EU-RO-1";
    else out.data_center_id = dc;
  }
  const cuda = f.rpCuda
    .split(/[\s,]+/)
    .map((v) => v.trim())
    .filter(Boolean);
  if (cuda.length) {
    const bad = cuda.find((v) => !/^\d{1,3}\.\d{1,3}$/.test(v));
    if (bad) errors.rpCuda = `${JSON.stringify(bad)} is not a CUDA version like 12.4`;
    else out.cuda_versions = cuda;
  }
  return Object.keys(out).length ? out : null;
}
