import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Route, Routes } from "react-router";
import { ApiError } from "./api/client";
import { LoginPage } from "./auth/LoginPage";
import { RequireLogin } from "./auth/RequireLogin";
import { SessionProvider } from "./auth/session";
import { TokensPage } from "./auth/TokensPage";
import { Dashboard } from "./pages/Dashboard";
import { ComparePage } from "./experiments/ComparePage";
import { GroupPage } from "./experiments/GroupPage";
import { RunsTablePage } from "./experiments/RunsTablePage";

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
            <Route path="/table" element={<RequireLogin><RunsTablePage /></RequireLogin>} />
            <Route path="/compare" element={<RequireLogin><ComparePage /></RequireLogin>} />
            <Route path="/group" element={<RequireLogin><GroupPage /></RequireLogin>} />
            <Route path="/" element={dashboard} />
            <Route path="/runs/:runId" element={dashboard} />
            <Route path="*" element={dashboard} />
          </Routes>
        </BrowserRouter>
      </SessionProvider>
    </QueryClientProvider>
  );
}
