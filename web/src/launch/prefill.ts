// What the "New run" dialog starts from: empty, or an earlier run ("Run again").
import type { Run } from "../api/types";
import type { LaunchRecord, LaunchResources, RunPodOptions } from "./api";

export interface Prefill {
  provider?: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  resources: LaunchResources;
  image: string;
  name: string;
  project: string;
  config: Record<string, unknown>;
  /** the run this was copied from, shown in the dialog's title */
  from?: string;
  /** the launch's RunPod options, asked again */
  runpod?: RunPodOptions;
  /** resuming is offered (`checked`: by default, as for a preempted spot run) from this run's last checkpoint */
  resume?: { runId: string; checked: boolean; why?: string };
}

export const EMPTY_PREFILL: Prefill = { argv: [], env: {}, cwd: "", resources: {}, image: "", name: "", project: "default", config: {} };

function stringList(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : null;
}

/** The launch spec of a launched run, else the command `trainboard run` recorded in its config. Secrets are
 * never copied (the server does not keep them). `null` when the run has no command to run again. */
export function prefillFromRun(run: Run, launch: LaunchRecord | null): Prefill | null {
  const config: Record<string, unknown> = { ...((run.config ?? {}) as Record<string, unknown>) };
  const recorded = stringList(config.command);
  const argv = launch?.spec.argv ?? recorded;
  if (!argv || argv.length === 0) return null;
  // what `trainboard run` adds to the config describes that run, not the new one
  delete config.command;
  delete config.cwd;
  delete config.trainboard;
  const spec = launch?.spec;
  return {
    provider: launch?.provider,
    argv: [...argv],
    env: { ...(spec?.env ?? {}) },
    cwd: spec?.cwd ?? "",
    resources: { ...(spec?.resources ?? {}) },
    image: spec?.image ?? "",
    name: run.name,
    project: spec?.project ?? run.project ?? "default",
    config,
    from: run.name,
    ...(spec?.options ? { runpod: { ...spec.options } } : {}),
    ...(resumeOffer(run, launch) ?? {}),
  };
}

/** A launched run that ended before its time can be run again from its last checkpoint: by default when its
 * (spot) machine was taken back ("preempted"); offered, unchecked, when it was interrupted or failed. */
function resumeOffer(run: Run, launch: LaunchRecord | null): { resume: NonNullable<Prefill["resume"]> } | null {
  if (!launch || !launch.finished) return null;
  if (launch.state === "preempted") return { resume: { runId: run.id, checked: true, why: "its pod was preempted" } };
  if (run.status === "interrupted" || run.status === "failed") return { resume: { runId: run.id, checked: false } };
  return null;
}
