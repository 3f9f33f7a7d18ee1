// A run's launch in its header (ActionsPanel): provider and job id, the job's state, Cancel (with confirmation)
// while it runs, "Run again", and the provider's own log when the run never reached `trainboard run`.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError, getRun } from "../api/client";
import type { Run } from "../api/types";
import { fmtTime } from "../lib/format";
import { useCanLaunch } from "../auth/session";
import { cancelRun, getLaunch, getNativeLog, type LaunchRecord, type RunCost } from "./api";
import { CostRow } from "./CostRow";
import { openLaunchDialog } from "./dialogStore";
import "./launch.css";
import { prefillFromRun } from "./prefill";

async function launchOrNull(runId: string): Promise<LaunchRecord | null> {
  try {
    return await getLaunch(runId);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null; // the run is gone
    throw e;
  }
}

const ACTIVE = new Set(["queued", "running"]);

export function LaunchInfo({ run }: { run: Run }) {
  const qc = useQueryClient();
  const launchQ = useQuery({
    // the status in the key: a run going queued -> running (its job started) reads the launch again at once,
    // rather than at the next 3 s poll, so the job id and state shown follow the run's own change
    queryKey: ["launch", run.id, String(run.status)],
    placeholderData: (previous) => previous,
    queryFn: () => launchOrNull(run.id),
    refetchInterval: (q) => (q.state.data && !q.state.data.finished ? 3000 : false),
    retry: false,
  });
  const launch = launchQ.data ?? null;
  const [confirming, setConfirming] = useState(false);
  const cancel = useMutation({
    mutationFn: () => cancelRun(run.id),
    onSettled: () => {
      setConfirming(false);
      void qc.invalidateQueries({ queryKey: ["launch", run.id] });
      void qc.invalidateQueries({ queryKey: ["runs"] });
      void qc.invalidateQueries({ queryKey: ["run", run.id] });
    },
  });
  const status = String(run.status);
  const canLaunch = useCanLaunch();
  const cancellable = canLaunch && !!launch && ACTIVE.has(status) && !launch.finished;
  // wait for the launch record: a launched run is run again from its spec, not from what its config recorded
  const again = canLaunch && launchQ.isSuccess ? prefillFromRun(run, launch) : null;
  // the cost as the server computes it now (the live run list carries no cost): read again when the status
  // changes and every 30 s while it runs; CostRow counts up in between
  const costQ = useQuery({
    queryKey: ["run-cost", run.id, status],
    queryFn: async () => ((await getRun(run.id)) as { cost?: RunCost | null }).cost ?? null,
    enabled: !!launch,
    refetchInterval: ACTIVE.has(status) ? 30_000 : false,
    placeholderData: (previous) => previous,
    retry: false,
  });
  const cost = costQ.data ?? (run as { cost?: RunCost | null }).cost ?? null;
  const resumed = launch?.spec.resume_from;
  // the job's own log matters when the run never got to `trainboard run` (still queued, or ended without it)
  const showNative = !!launch && (status === "queued" || (launch.finished && launch.state !== "completed"));
  const nativeQ = useQuery({
    queryKey: ["native-log", run.id, launch?.state],
    queryFn: () => getNativeLog(run.id),
    enabled: showNative,
    retry: false,
  });

  return (
    <div className="launch-info">
      {launch && (
        <div className="kv">
          <div className="kvrow">
            <span className="muted">PROVIDER</span>
            <span data-testid="launch-provider">{launch.provider}</span>
          </div>
          <div className="kvrow">
            <span className="muted">JOB ID</span>
            <span data-testid="launch-job-id" title={launch.job_id ?? ""}>
              {launch.job_id ?? "—"}
            </span>
          </div>
          <div className="kvrow">
            <span className="muted">JOB</span>
            <span title={launch.reason ?? ""}>
              {launch.state}
              {launch.native_state ? ` (${launch.native_state})` : ""}
              {launch.reason ? ` · ${launch.reason}` : ""}
            </span>
          </div>
          <div className="kvrow">
            <span className="muted">LAUNCHED</span>
            <span>
              {fmtTime(launch.launched_at)}
              {launch.launched_by ? ` by ${launch.launched_by}` : ""}
            </span>
          </div>
          <CostRow cost={cost} unpriced={launch.spec.price?.usd_per_hour == null ? launch.spec.price?.source : null} />
          {resumed && (
            <div className="kvrow">
              <span className="muted">RESUMED</span>
              <span data-testid="launch-resumed" title={resumed.path}>
                from run {resumed.run_id} · {resumed.path}
                {resumed.step != null ? ` (step ${resumed.step})` : ""}
              </span>
            </div>
          )}
          {launch.cancel_requested_at !== null && (
            <div className="kvrow">
              <span className="muted">CANCEL</span>
              <span className="orange">
                asked {fmtTime(launch.cancel_requested_at)}
                {launch.cancelled_by ? ` by ${launch.cancelled_by}` : ""}
              </span>
            </div>
          )}
        </div>
      )}
      <div className="btnrow">
        {cancellable && !confirming && (
          <button className="btn danger" onClick={() => setConfirming(true)}>
            [CANCEL RUN]
          </button>
        )}
        {again && (
          <button className="btn" onClick={() => openLaunchDialog(again)} title="open the New run dialog with this run's command and config">
            [RUN AGAIN]
          </button>
        )}
      </div>
      {cancellable && confirming && (
        <div className="cancel-confirm" role="alertdialog" aria-label="confirm cancel">
          <span className="orange">
            Cancel “{run.name}”? The job is asked to stop (SIGTERM, forced after the grace period); the output so far is kept.
          </span>
          <div className="btnrow">
            <button className="btn danger" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
              {cancel.isPending ? "[CANCELLING…]" : "[YES, CANCEL THE RUN]"}
            </button>
            <button className="btn" onClick={() => setConfirming(false)}>
              [NO, KEEP IT RUNNING]
            </button>
          </div>
        </div>
      )}
      {cancel.isError && <div className="error">cancel failed: {(cancel.error as Error).message}</div>}
      {launchQ.isError && <div className="error">cannot load the launch: {(launchQ.error as Error).message}</div>}
      {showNative && nativeQ.data && (
        <div className="native-log" aria-label="provider log">
          <div className="muted">
            {launch.provider.toUpperCase()} LOG — the provider's own output for this job
            {status === "queued"
              ? "; `trainboard run` has not started yet"
              : run.log_size === 0
                ? "; this run never reached `trainboard run`"
                : ""}
          </div>
          <pre>{nativeQ.data}</pre>
        </div>
      )}
    </div>
  );
}
