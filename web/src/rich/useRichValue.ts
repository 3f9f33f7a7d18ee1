// One rich value of a run (`key` at `step`), cached by run, key and step; nothing is fetched while `step` is null.
import { useQuery } from "@tanstack/react-query";
import { richValue } from "./api";

export function useRichValue(runId: string, key: string, step: number | null) {
  return useQuery({
    queryKey: ["rich-value", runId, key, step],
    queryFn: () => richValue(runId, key, step as number),
    enabled: step !== null,
  });
}
