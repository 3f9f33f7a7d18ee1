// The run's ranks, polled while it runs (a rank that registers later appears); no ranks: not a distributed run.
import { useQuery } from "@tanstack/react-query";
import type { Run } from "../api/types";
import { getRanks } from "./api";

export const RANKS_POLL_MS = 3000;

export function useRanks(run: Run) {
  return useQuery({
    queryKey: ["ranks", run.id],
    queryFn: () => getRanks(run.id),
    refetchInterval: run.status === "running" || run.status === "queued" ? RANKS_POLL_MS : false,
  });
}
