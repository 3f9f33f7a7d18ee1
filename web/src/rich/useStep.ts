// The step a rich view shows: the latest by default, moved by its slider, and following the run page's time line
// (a click on a metric chart marks a step: every rich view jumps to its nearest logged step).
import { useEffect, useState } from "react";
import { useMoment } from "../timeline/moment";
import { nearestStep } from "./model";

export function useStep(runId: string, steps: number[]): [number | null, (step: number) => void] {
  const moment = useMoment(runId);
  const [chosen, setChosen] = useState<number | null>(null);
  useEffect(() => {
    if (moment) setChosen(nearestStep(steps, moment.step));
    // only a new moment moves the slider (new steps arriving keep the choice)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [moment?.step, moment?.runId]);
  const step = chosen !== null && steps.includes(chosen) ? chosen : steps.length ? steps[steps.length - 1]! : null;
  return [step, setChosen];
}
