import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import { deleteRun } from "../api/client";
import type { Run } from "../api/types";
import { parseTime } from "../api/wire";
import { LaunchInfo } from "../launch/LaunchInfo";
import { fmtDuration, fmtTime } from "../lib/format";
import { StatusBadge } from "./StatusBadge";

export function ActionsPanel({ run, onHelp }: { run: Run; onHelp(): void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [msg, setMsg] = useState<string | null>(null);
  const del = useMutation({
    mutationFn: () => deleteRun(run.id),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["runs"] });
      navigate("/");
    },
    onError: (e) => setMsg(`delete failed: ${(e as Error).message}`),
  });
  const end = run.end_time ? parseTime(run.end_time) : Date.now();
  const enc = encodeURIComponent(run.id);
  return (
    <div className="actions-panel">
      <div className="kv">
        <div className="kvrow">
          <span className="muted">RUN</span>
          <span className="run-title">{run.name}</span>
        </div>
        <div className="kvrow">
          <span className="muted">ID</span>
          <span>{run.id}</span>
        </div>
        <div className="kvrow">
          <span className="muted">PROJECT</span>
          <span>{run.project ?? "—"}</span>
        </div>
        <div className="kvrow">
          <span className="muted">STATUS</span>
          <span>
            <StatusBadge status={run.status} />
            {run.exit_code !== null && run.exit_code !== undefined && <span className="muted"> exit {run.exit_code}</span>}
          </span>
        </div>
        <div className="kvrow">
          <span className="muted">STARTED</span>
          <span>{fmtTime(run.start_time)}</span>
        </div>
        <div className="kvrow">
          <span className="muted">DURATION</span>
          <span>{fmtDuration((end - parseTime(run.start_time)) / 1000)}</span>
        </div>
      </div>
      <div className="btnrow">
        <button className="btn" onClick={() => void navigator.clipboard?.writeText(run.id)}>
          [COPY ID]
        </button>
        <a className="btn link" href={`/api/runs/${enc}/logs`} download={`${run.name}.log`}>
          [RAW LOG]
        </a>
        <a className="btn link" href={`/api/runs/${enc}/metrics`} target="_blank" rel="noreferrer">
          [METRICS JSON]
        </a>
        <button
          className="btn danger"
          onClick={() => {
            if (window.confirm(`Delete run "${run.name}" and all its data?`)) del.mutate();
          }}
        >
          [DELETE RUN]
        </button>
        <button className="btn" onClick={onHelp}>
          [? HELP]
        </button>
      </div>
      <LaunchInfo run={run} />
      {msg && <div className="error">{msg}</div>}
    </div>
  );
}
