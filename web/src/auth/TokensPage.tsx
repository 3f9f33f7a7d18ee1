// /tokens: the user's own tokens (create, revoke); admins also every user's tokens, the users and the audit log.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { Panel } from "../components/Panel";
import "./auth.css";
import { AuditPanel } from "./AuditPanel";
import { createToken, listTokens, revokeToken, type TokenInfo } from "./api";
import { NewTokenForm } from "./NewTokenForm";
import { TokenTable } from "./TokenTable";
import { UserMenu } from "./UserMenu";
import { UsersPanel } from "./UsersPanel";
import { useCanLaunch, useCurrentUser } from "./session";

export function TokensPage() {
  const user = useCurrentUser();
  const canLaunch = useCanLaunch();
  const qc = useQueryClient();
  const isAdmin = user?.role === "admin";
  const own = useQuery({ queryKey: ["auth", "tokens", "own"], queryFn: () => listTokens(false), enabled: !!user });
  const all = useQuery({ queryKey: ["auth", "tokens", "all"], queryFn: () => listTokens(true), enabled: isAdmin });
  const changed = () => void qc.invalidateQueries({ queryKey: ["auth"] });
  const revoke = async (t: TokenInfo) => {
    await revokeToken(t.id);
    changed();
  };

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">▌TRAINBOARD</span>
        <Link className="btn link" to="/">
          ← DASHBOARD
        </Link>
        <span className="spacer" />
        <UserMenu />
      </header>
      {!user ? (
        <div className="center">
          <div className="amber big">authentication is off on this server</div>
          <div className="muted">there are no users or tokens: the dashboard is open to this machine only.</div>
        </div>
      ) : (
        <main className="auth-page">
          <Panel title="YOUR TOKENS" className="p-tokens">
            <p className="muted small">
              Tokens let scripts, the SDK and <span className="amber">trainboard</span> commands act as you (
              <span className="amber">TRAINBOARD_TOKEN</span>). A token never has more rights than your role (
              {user.role}).
            </p>
            <NewTokenForm
              role={user.role}
              canLaunch={canLaunch}
              onCreate={async (body) => {
                const t = await createToken(body);
                changed();
                return t;
              }}
            />
            {own.isError && <p className="error">cannot load tokens: {(own.error as Error).message}</p>}
            {own.data && <TokenTable tokens={own.data} onRevoke={revoke} label="your tokens" />}
          </Panel>
          {isAdmin && (
            <>
              <Panel title="ALL TOKENS" className="p-alltokens">
                {all.isError && <p className="error">cannot load tokens: {(all.error as Error).message}</p>}
                {all.data && <TokenTable tokens={all.data} showUser onRevoke={revoke} label="all tokens" />}
              </Panel>
              <Panel title="USERS" className="p-users">
                <UsersPanel me={user.name} />
              </Panel>
              <Panel title="AUDIT LOG" className="p-audit" extra={<span className="muted">newest first</span>}>
                <AuditPanel />
              </Panel>
            </>
          )}
        </main>
      )}
    </div>
  );
}
