import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { Suspense, lazy, type ReactNode } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { ApiError } from "./api/client";
import { LoginPage } from "./auth/LoginPage";
import { RequireLogin } from "./auth/RequireLogin";
import { SessionProvider } from "./auth/session";
import { TokensPage } from "./auth/TokensPage";
import { lazyPage } from "./lib/lazyPage";
import { Dashboard } from "./pages/Dashboard";

// The experiments views load in chunks of their own: the live dashboard does not parse the table, Markdown and
// comparison code, and the table does not wait for it either.
// (lazyPage, not lazy(): no Suspense fallback throttle, and the named page's chunk loads during login)
const RunsTablePage = lazyPage(() => import("./experiments/RunsTablePage").then((m) => m.RunsTablePage), "/table");
const ComparePage = lazyPage(() => import("./experiments/ComparePage").then((m) => m.ComparePage), "/compare");
const GroupPage = lazyPage(() => import("./experiments/GroupPage").then((m) => m.GroupPage), "/group");
const AlertsPage = lazy(() => import("./alerts/AlertsPage").then((m) => ({ default: m.AlertsPage })));
const LogSearchPage = lazy(() => import("./logsearch/LogSearchPage").then((m) => ({ default: m.LogSearchPage })));

function Page({ children }: { children: ReactNode }) {
  return (
    <RequireLogin>
      <Suspense fallback={<div className="center">loading…</div>}>{children}</Suspense>
    </RequireLogin>
  );
}

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // a 4xx will not change by asking again (the refetch interval still retries later)
      retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 3,
      retryDelay: (n) => Math.min(10_000, 500 * 2 ** n),
      refetchOnWindowFocus: false,
      staleTime: 1000,
    },
  },
});

const dashboard = (
  <RequireLogin>
    <Dashboard />
  </RequireLogin>
);

/** `loginCode`: the one-time login code main.tsx took out of the address bar before the first render. */
export function App({ loginCode = null }: { loginCode?: string | null }) {
  return (
    <QueryClientProvider client={queryClient}>
      <SessionProvider code={loginCode}>
        <BrowserRouter>
          <Routes>
            <Route path="/login" element={<LoginPage />} />
            <Route
              path="/tokens"
              element={
                <RequireLogin>
                  <TokensPage />
                </RequireLogin>
              }
            />
            <Route path="/table" element={<Page><RunsTablePage /></Page>} />
            <Route path="/compare" element={<Page><ComparePage /></Page>} />
            <Route path="/group" element={<Page><GroupPage /></Page>} />
            <Route path="/alerts" element={<Page><AlertsPage /></Page>} />
            <Route path="/logs/search" element={<Page><LogSearchPage /></Page>} />
            <Route path="/" element={dashboard} />
            <Route path="/runs/:runId" element={dashboard} />
            <Route path="*" element={dashboard} />
          </Routes>
        </BrowserRouter>
      </SessionProvider>
    </QueryClientProvider>
  );
}
