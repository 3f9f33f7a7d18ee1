// A table of API tokens with an inline revoke confirmation (no window.confirm: it blocks the page).
import { useState } from "react";
import { fmtTime } from "../lib/format";
import type { TokenInfo } from "./api";
import { tokenState } from "./place";

export function TokenTable(props: {
  tokens: TokenInfo[];
  showUser?: boolean;
  onRevoke(t: TokenInfo): Promise<void>;
  label: string;
}) {
  const [confirm, setConfirm] = useState<TokenInfo["id"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = Date.now();
  if (props.tokens.length === 0) return <div className="empty">no tokens</div>;
  return (
    <div className="table-wrap">
      {error && <p className="error">{error}</p>}
      <table className="auth-table" aria-label={props.label}>
        <thead>
          <tr>
            <th>NAME</th>
            {props.showUser && <th>USER</th>}
            <th>SCOPE</th>
            <th>PREFIX</th>
            <th>CREATED</th>
            <th>EXPIRES</th>
            <th>LAST USED</th>
            <th>STATE</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((t) => {
            const st = tokenState(t, now);
            return (
              <tr key={String(t.id)} data-token-id={String(t.id)} className={st === "active" ? "" : "muted"}>
                <td className="token-name">{t.name}</td>
                {props.showUser && <td>{t.user ?? <span className="muted">service</span>}</td>}
                <td>
                  {t.scope}
                  {t.run_id ? <span className="muted"> run {t.run_id}</span> : null}
                </td>
                <td className="num">{t.prefix}…</td>
                <td className="num">{fmtTime(t.created_at)}</td>
                <td className="num">{t.expires_at ? fmtTime(t.expires_at) : "never"}</td>
                <td className="num">{t.last_used_at ? fmtTime(t.last_used_at) : "never"}</td>
                <td className={`token-state ${st === "active" ? "green" : "red"}`}>{st}</td>
                <td className="actions">
                  {st === "revoked" ? null : confirm === t.id ? (
                    <span className="confirm">
                      revoke “{t.name}”? it stops working at once{" "}
                      <button
                        className="btn danger"
                        onClick={() => {
                          setError(null);
                          props
                            .onRevoke(t)
                            .then(() => setConfirm(null))
                            .catch((e: unknown) => setError(`cannot revoke: ${e instanceof Error ? e.message : String(e)}`));
                        }}
                      >
                        YES, REVOKE
                      </button>{" "}
                      <button className="btn" onClick={() => setConfirm(null)}>
                        CANCEL
                      </button>
                    </span>
                  ) : (
                    <button className="btn danger" onClick={() => setConfirm(t.id)}>
                      REVOKE
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
