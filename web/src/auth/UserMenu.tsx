// The top bar's user part: name, role, the tokens page, logout. Nothing at all when auth is off.
import { useState } from "react";
import { Link, useLocation } from "react-router";
import "./auth.css";
import { useCurrentUser, useSession } from "./session";

export function UserMenu() {
  const user = useCurrentUser();
  const { logout } = useSession();
  const { pathname } = useLocation();
  const [busy, setBusy] = useState(false);
  if (!user) return null;
  return (
    <span className="usermenu" aria-label="current user">
      <span title="logged in as">
        USER <b className="user-name">{user.name}</b> <span className={`role role-${user.role}`}>{user.role.toUpperCase()}</span>
      </span>
      {pathname !== "/tokens" && (
        <Link className="btn link" to="/tokens" title="your API tokens (admins: users and audit log too)">
          TOKENS
        </Link>
      )}
      <button
        className="btn"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void logout().finally(() => setBusy(false));
        }}
      >
        LOGOUT
      </button>
    </span>
  );
}
