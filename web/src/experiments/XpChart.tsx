// The compare / group pages' chart: the one Chart (charts/Chart.tsx) with the overlay look (a readout that
// lists every line with its full name) and the chart's own log / y-bounds settings. Kept with its props so
// the pages that use it need no change.
import { memo } from "react";
import { Chart, type BandSpec, type Columns, type LineSpec } from "../charts/Chart";
import { useChartSettings } from "../charts/settings";

export type { BandSpec, LineSpec };

interface Props {
  title: string;
  lines: LineSpec[];
  bands?: BandSpec[];
  /** aligned columns [x, ...one per line]; called whenever `subscribe` fires */
  data(): Columns;
  subscribe(cb: () => void): () => void;
  height?: number;
  /** extra text after a line's value in the readout (e.g. the band's range) */
  extra?(line: number, idx: number, data: Columns): string;
  /** what x is: the step (default), or seconds since each run started (system metrics) */
  xKind?: "step" | "elapsed";
  /** the values' unit, shown after the title and in the readout ("%", "GB" ...) */
  unit?: string;
}

function XpChartImpl({ title, xKind = "step", ...rest }: Props) {
  const [settings, setSettings] = useChartSettings(title);
  return (
    <Chart
      {...rest}
      chartKey={title}
      title={title}
      xMode={xKind}
      variant="overlay"
      settings={settings}
      onSettings={setSettings}
      attrs={{ "data-x-kind": xKind }}
    />
  );
}

export const XpChart = memo(XpChartImpl);
