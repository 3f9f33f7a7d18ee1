// The run page's RICH panel: the run's histograms, images, text and tables per step. Shown only when the run has
// rich values; one key at a time, chosen in the panel's header.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { Run } from "../api/types";
import { Panel } from "../components/Panel";
import { richIndex, type RichKey } from "./api";
import { HistogramView } from "./HistogramView";
import { ImageStrip } from "./ImageStrip";
import "./rich.css";
import { TableView } from "./TableView";
import { TextView } from "./TextView";

function View({ run, rkey, others }: { run: Run; rkey: RichKey; others: Run[] }) {
  const live = run.status === "running";
  switch (rkey.kind) {
    case "histogram":
      return <HistogramView runId={run.id} rkey={rkey} live={live} />;
    case "image":
      return <ImageStrip runId={run.id} rkey={rkey} live={live} others={others} />;
    case "text":
      return <TextView runId={run.id} rkey={rkey} others={others} />;
    case "table":
      return <TableView runId={run.id} rkey={rkey} />;
    default:
      return <div className="empty amber">{rkey.key} changed kind between steps: open one step through the API</div>;
  }
}

/** `others`: the runs ticked for comparison (images of the same key beside these, text diffed against theirs). */
export function RichPanel(props: { run: Run; others?: Run[]; collapsed?: boolean; onToggle?: () => void }) {
  const { run, collapsed, onToggle } = props;
  const others = props.others ?? [];
  const q = useQuery({
    queryKey: ["rich", run.id],
    queryFn: () => richIndex(run.id),
    refetchInterval: run.status === "running" ? 5000 : false,
  });
  const [chosen, setChosen] = useState<string | null>(null);
  const keys = q.data ?? [];
  if (!keys.length) return null;
  const current = keys.find((k) => k.key === chosen) ?? keys[0]!;
  return (
    <Panel
      title={`RICH · ${run.name}`}
      className="p-rich"
      collapsed={collapsed}
      onToggle={onToggle}
      extra={
        <select aria-label="rich key" value={current.key} onChange={(e) => setChosen(e.target.value)}>
          {keys.map((k) => (
            <option key={k.key} value={k.key}>
              {k.key} · {k.kind} · {k.steps.length} steps
            </option>
          ))}
        </select>
      }
    >
      <div className="rich-body" key={`${run.id}\n${current.key}`}>
        <View run={run} rkey={current} others={others} />
      </div>
    </Panel>
  );
}
