// Admins: the audit log, newest first.
import { useQuery } from "@tanstack/react-query";
import { fmtTime } from "../lib/format";
import { listAudit, type AuditEntry } from "./api";
import { timeMs } from "./place";

/** Newest first whatever order the server used (time, then id for entries in the same second). */
export function newestFirst(entries: AuditEntry[]): AuditEntry[] {
  const key = (e: AuditEntry) => timeMs(e.time) || 0;
  return [...entries].sort((a, b) => key(b) - key(a) || Number(b.id) - Number(a.id) || 0);
}

function detailText(d: unknown): string {
  if (d === null || d === undefined || d === "") return "";
  return typeof d === "string" ? d : JSON.stringify(d);
}

export function AuditPanel() {
  const audit = useQuery({ queryKey: ["auth", "audit"], queryFn: () => listAudit(200), refetchInterval: 10_000 });
  if (audit.isError) return <p className="error">cannot load the audit log: {(audit.error as Error).message}</p>;
  if (!audit.data) return <div className="empty">loading…</div>;
  if (audit.data.length === 0) return <div className="empty">nothing recorded yet</div>;
  return (
    <div className="table-wrap">
      <table className="auth-table" aria-label="audit log">
        <thead>
          <tr>
            <th>TIME</th>
            <th>USER</th>
            <th>ACTION</th>
            <th>TARGET</th>
            <th>IP</th>
            <th>DETAIL</th>
          </tr>
        </thead>
        <tbody>
          {newestFirst(audit.data).map((e) => (
            <tr key={String(e.id)}>
              <td className="num">{fmtTime(e.time)}</td>
              <td>{e.user ?? "—"}</td>
              <td className="audit-action">{e.action}</td>
              <td>{e.target ?? ""}</td>
              <td className="num">{e.ip ?? ""}</td>
              <td className="muted">{detailText(e.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
