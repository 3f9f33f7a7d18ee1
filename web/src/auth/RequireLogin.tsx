import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { loginPath } from "./place";
import { useSession } from "./session";

/** Shows `children` when auth is off or someone is logged in; otherwise the login page, keeping the place. */
export function RequireLogin({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const { pathname, search } = useLocation();
  if (state.status === "loading") return <div className="center muted">…</div>;
  if (state.status === "error") return <div className="center red">cannot reach the server: {state.message}</div>;
  if (state.auth && !state.user) return <Navigate to={loginPath(pathname + search)} replace />;
  return <>{children}</>;
}
