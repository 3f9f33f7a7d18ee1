// Who is logged in: one context for the whole app, fed by GET /api/auth/me, ended by logout or by any 401.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { ApiError, onUnauthorized } from "../api/client";
import { exchangeCode, getMe, login as postLogin, logout as postLogout, type AuthUser, type Me } from "./api";

export type SessionState =
  | { status: "loading" }
  | {
      status: "ready";
      /** the server asks for credentials (false: local use, no login, no user in the top bar) */
      auth: boolean;
      user: AuthUser | null;
      /** this browser may launch runs (auth off; an admin; an editor granted launch) */
      canLaunch: boolean;
      /** the session ended under the user (a 401): the login page says so */
      expired: boolean;
      /** the one-time login link did not work, and why */
      linkError: string | null;
    }
  | { status: "error"; message: string };

export interface Session {
  state: SessionState;
  login(username: string, password: string): Promise<void>;
  logout(): Promise<void>;
  /** ask the server again who this browser is */
  refresh(): Promise<void>;
}

const OFF: SessionState = { status: "ready", auth: false, user: null, canLaunch: true, expired: false, linkError: null };
const noop = async () => undefined;

// Without a provider (component tests, or a build without auth) the app behaves as with auth off.
const SessionContext = createContext<Session>({ state: OFF, login: noop, logout: noop, refresh: noop });

export function useSession(): Session {
  return useContext(SessionContext);
}

/** Whether this browser may launch runs: what `/api/auth/me` says (false until it answered). */
export function useCanLaunch(): boolean {
  const { state } = useSession();
  return state.status === "ready" && state.canLaunch;
}

/** `can_launch` of `/api/auth/me`; a server too old to send it: auth off or an admin. */
function canLaunchOf(me: Me): boolean {
  return me.can_launch ?? (!me.auth || me.user?.role === "admin");
}

/** The logged-in user, or null (auth off, or nobody logged in). */
export function useCurrentUser(): AuthUser | null {
  const { state } = useSession();
  return state.status === "ready" && state.auth ? state.user : null;
}

function linkErrorText(e: unknown): string {
  if (e instanceof ApiError && (e.status === 401 || e.status === 400 || e.status === 404))
    return "This login link was already used or has expired. Log in with your user name and password.";
  if (e instanceof ApiError && e.status === 429) return "Too many login attempts. Try the link again in a minute.";
  return `The login link could not be checked: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Provides the session. `code` is the one-time login code already taken out of the address bar
 * (place.ts: takeLoginCode); it is exchanged for a session cookie once, before the first /me.
 */
export function SessionProvider({ code = null, children }: { code?: string | null; children: ReactNode }) {
  const qc = useQueryClient();
  const [state, setState] = useState<SessionState>({ status: "loading" });
  const started = useRef(false);

  const refresh = useCallback(async () => {
    try {
      const me = await getMe();
      setState((s) => ({
        status: "ready",
        auth: me.auth,
        user: me.auth ? me.user : null,
        canLaunch: canLaunchOf(me),
        expired: s.status === "ready" && s.expired && !me.user,
        linkError: s.status === "ready" ? s.linkError : null,
      }));
    } catch (e) {
      setState({ status: "error", message: e instanceof Error ? e.message : String(e) });
    }
  }, []);

  // once per page load (a ref, not a cancel flag: StrictMode's second mount must not exchange the code again)
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void (async () => {
      let linkError: string | null = null;
      if (code) {
        try {
          await exchangeCode(code);
        } catch (e) {
          linkError = linkErrorText(e);
        }
      }
      try {
        const me = await getMe();
        setState({
          status: "ready",
          auth: me.auth,
          user: me.auth ? me.user : null,
          canLaunch: canLaunchOf(me),
          expired: false,
          linkError,
        });
      } catch (e) {
        setState({ status: "error", message: e instanceof Error ? e.message : String(e) });
      }
    })();
  }, [code]);

  // the server could not be asked (down, restarting): ask again, the dashboard's own banner says the rest
  useEffect(() => {
    if (state.status !== "error") return;
    const t = setTimeout(() => void refresh(), 3000);
    return () => clearTimeout(t);
  }, [state, refresh]);

  // any 401 from the API: the session is over; the router shows the login page and keeps the place
  useEffect(
    () =>
      onUnauthorized(() => {
        setState((s) =>
          s.status === "ready" ? { ...s, auth: true, user: null, canLaunch: false, expired: s.user !== null || s.expired } : s,
        );
        void refresh();
      }),
    [refresh],
  );

  const login = useCallback(
    async (username: string, password: string) => {
      await postLogin(username, password);
      qc.clear(); // nothing cached under the old (or no) identity survives
      setState({ status: "loading" });
      await refresh();
    },
    [qc, refresh],
  );

  const logout = useCallback(async () => {
    try {
      await postLogout();
    } finally {
      qc.clear();
      setState((s) => (s.status === "ready" ? { ...s, user: null, canLaunch: false, expired: false, linkError: null } : s));
      await refresh();
    }
  }, [qc, refresh]);

  const value = useMemo(() => ({ state, login, logout, refresh }), [state, login, logout, refresh]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
