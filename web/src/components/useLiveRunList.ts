// The dashboard's run list: the runs query (search, project, status and order answered by the server, PAGE
// runs at a time, more on demand), kept current by the `/ws` run-list messages applied to the pages shown
// (liveRunList.applyMessage) — the list is not downloaded again every few seconds. Two one-run queries
// count all runs and the running ones for the top bar; they are asked again only after a change.
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { query, request } from "../api/client";
import { live } from "../api/live";
import type { Run, RunList as RunListWire } from "../api/types";
import { applyMessage, listParams, shownOf, type ListPage } from "./liveRunList";
import type { RunFilter } from "./RunList";

async function getPage(params: Record<string, string | number | undefined>): Promise<ListPage> {
  const res = await request(`/api/runs${query(params)}`, { headers: { Accept: "application/json" } });
  const body = (await res.json()) as RunListWire;
  return { runs: body.runs, total: body.total ?? body.runs.length, next_cursor: body.next_cursor ?? null };
}

async function countOf(params: Record<string, string>): Promise<number> {
  return (await getPage({ ...params, limit: 1 })).total;
}

/** What RunList shows about the window: how many of how many, and the way to the next page. */
export interface ListWindow {
  shown: number;
  total: number;
  hasMore: boolean;
  loadingMore: boolean;
  more(): void;
  projects: string[];
}

export interface LiveRunList {
  runs: Run[];
  /** the shape the dashboard reads (`data.total`: every run, for the top bar) */
  data: { runs: Run[]; total: number } | undefined;
  isLoading: boolean;
  isError: boolean;
  isSuccess: boolean;
  error: unknown;
  running: number;
  /** "200 of 9,997" */
  label: string;
  window: ListWindow;
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function useLiveRunList(filter: RunFilter): LiveRunList {
  const qc = useQueryClient();
  const search = useDebounced(filter.text, 150);
  const params = useMemo(() => listParams(filter, search), [filter, search]);
  const key = useMemo(() => ["live-runs", params] as const, [params]);
  const q = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam }) => getPage({ ...params, cursor: pageParam ?? undefined }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    placeholderData: keepPreviousData,
    staleTime: Infinity, // the socket keeps it current
  });
  const counts = useQuery({
    queryKey: ["live-runs-count"],
    queryFn: async () => {
      const [all, running] = await Promise.all([countOf({}), countOf({ status: "running" })]);
      return { all, running };
    },
    staleTime: Infinity,
  });
  const projects = useQuery({
    queryKey: ["live-runs-projects"],
    queryFn: async () => {
      const res = await request("/api/projects", { headers: { Accept: "application/json" } });
      return ((await res.json()) as { projects: { name: string }[] }).projects.map((p) => p.name).sort();
    },
    staleTime: 60_000,
  });

  // socket messages: patched into the pages shown; counts asked again (two one-run requests), debounced
  const state = useRef({ filter, search, key });
  state.current = { filter, search, key };
  useEffect(() => {
    let recount: ReturnType<typeof setTimeout> | null = null;
    let refetch: ReturnType<typeof setTimeout> | null = null;
    const off = live.onMessage((m) => {
      if (!["run_created", "status_change", "run_updated", "run_deleted", "reset"].includes(m.type)) return;
      const { filter: f, search: s, key: k } = state.current;
      const data = qc.getQueryData<InfiniteData<ListPage, string | null>>(k);
      if (data) {
        const out = applyMessage(data.pages, m, f, s);
        if (out.changed) qc.setQueryData<InfiniteData<ListPage, string | null>>(k, { ...data, pages: out.pages });
        if (out.refetch && !refetch)
          refetch = setTimeout(() => {
            refetch = null;
            void qc.invalidateQueries({ queryKey: ["live-runs"], exact: false });
          }, 300);
      }
      if (!recount)
        recount = setTimeout(() => {
          recount = null;
          void qc.invalidateQueries({ queryKey: ["live-runs-count"] });
          if (m.type === "run_created" || m.type === "reset") void qc.invalidateQueries({ queryKey: ["live-runs-projects"] });
        }, 500);
    });
    return () => {
      off();
      if (recount) clearTimeout(recount);
      if (refetch) clearTimeout(refetch);
    };
  }, [qc]);

  const runs = useMemo(() => q.data?.pages.flatMap((p) => p.runs) ?? [], [q.data]);
  const matched = q.data?.pages[0]?.total ?? 0;
  const all = counts.data?.all ?? matched;
  return {
    runs,
    data: q.data ? { runs, total: all } : undefined,
    isLoading: q.isLoading || counts.isLoading,
    isError: q.isError,
    isSuccess: q.isSuccess && counts.isSuccess,
    error: q.error,
    running: counts.data?.running ?? runs.filter((r) => r.status === "running").length,
    label: shownOf(runs.length, matched),
    window: {
      shown: runs.length,
      total: matched,
      hasMore: !!q.hasNextPage,
      loadingMore: q.isFetchingNextPage,
      more: () => void q.fetchNextPage(),
      projects: projects.data ?? [],
    },
  };
}
