// The login page: user name + password, or the one-time link's outcome; afterwards back to the kept place.
import { useState, type FormEvent } from "react";
import { Navigate, useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import "./auth.css";
import { loginErrorText, safeNext } from "./place";
import { useSession } from "./session";
import { useCountdown } from "./useCountdown";

export function LoginPage() {
  const { state, login } = useSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ status: number; detail: string; retryAfter: number | null } | null>(null);
  const [blockedUntil, setBlockedUntil] = useState<number | null>(null);
  const wait = useCountdown(blockedUntil);

  if (state.status === "ready" && (!state.auth || state.user)) return <Navigate to={next} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || wait > 0) return;
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      const retryAfter = err instanceof ApiError ? err.retryAfter : null;
      setError({ status, detail: err instanceof Error ? err.message : String(err), retryAfter });
      if (status === 429) setBlockedUntil(Date.now() + (retryAfter ?? 60) * 1000);
      setPassword("");
    } finally {
      setBusy(false);
    }
  };

  const notice =
    state.status === "ready" && state.linkError
      ? state.linkError
      : state.status === "ready" && state.expired
        ? "Your session ended. Log in again to continue where you were."
        : null;

  return (
    <div className="app login-screen">
      <main className="login-box" aria-labelledby="login-title">
        <h1 id="login-title" className="brand">
          ▌TRAINBOARD
        </h1>
        <p className="muted">This dashboard asks for a login.</p>
        {state.status === "error" && <p className="error">Cannot reach the server: {state.message}</p>}
        {notice && (
          <p className="orange" role="status">
            {notice}
          </p>
        )}
        <form onSubmit={(e) => void submit(e)} className="login-form">
          <label>
            <span>user name</span>
            <input
              className="input"
              name="username"
              autoComplete="username"
              autoFocus
              required
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </label>
          <label>
            <span>password</span>
            <input
              className="input"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          {error && (
            <p className="error" role="alert">
              {error.status === 429 && wait > 0
                ? loginErrorText(429, error.detail, wait)
                : error.status === 429
                  ? "You can try again now."
                  : loginErrorText(error.status, error.detail, error.retryAfter)}
            </p>
          )}
          <button className="btn login-submit" type="submit" disabled={busy || wait > 0}>
            {busy ? "LOGGING IN…" : "LOG IN"}
          </button>
        </form>
        <p className="muted small">
          The server prints a one-time login link when it starts. Scripts use tokens: <span className="amber">trainboard login URL</span>.
        </p>
      </main>
    </div>
  );
}
