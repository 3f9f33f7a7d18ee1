// A text per step (an LLM's generations): a step slider, and a line diff against another step. The text is shown
// as text (React escapes it): nothing a run logged is ever read as HTML.
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { richValue, type RichKey } from "./api";
import { lineDiff } from "./model";
import { StepSlider, Truncated } from "./StepSlider";
import { useStep } from "./useStep";

export function TextView({ runId, rkey }: { runId: string; rkey: RichKey }) {
  const [step, setStep] = useStep(runId, rkey.steps);
  const [against, setAgainst] = useState<number | null>(null);
  const q = useQuery({
    queryKey: ["rich-value", runId, rkey.key, step],
    queryFn: () => richValue(runId, rkey.key, step as number),
    enabled: step !== null,
  });
  const other = useQuery({
    queryKey: ["rich-value", runId, rkey.key, against],
    queryFn: () => richValue(runId, rkey.key, against as number),
    enabled: against !== null,
  });
  const text = q.data?.text?.text ?? "";
  const diff = useMemo(
    () => (against !== null && other.data?.text ? lineDiff(other.data.text.text, text) : null),
    [against, other.data, text],
  );
  const previous = step !== null ? rkey.steps[rkey.steps.indexOf(step) - 1] : undefined;
  return (
    <div className="rich-text">
      <div className="rich-controls">
        <StepSlider steps={rkey.steps} step={step} onChange={setStep} />
        <label className="rich-diff-toggle">
          <input
            type="checkbox"
            checked={against !== null}
            onChange={(e) => setAgainst(e.target.checked ? (previous ?? rkey.steps[0] ?? null) : null)}
          />{" "}
          DIFF
        </label>
        {against !== null && <StepSlider steps={rkey.steps} step={against} onChange={setAgainst} label="against step" />}
      </div>
      {q.isError && <div className="empty red">cannot load step {step}: {(q.error as Error).message}</div>}
      {diff ? (
        <>
          {!diff.exact && <div className="amber">the texts differ too much to diff line by line: every changed line is shown removed, then added</div>}
          <pre className="rich-pre rich-diff" aria-label={`diff of step ${against} and step ${step}`}>
            {diff.ops.map((o, i) => (
              <div key={i} className={`d-${o.op}`}>
                {o.op === "add" ? "+ " : o.op === "del" ? "- " : "  "}
                {o.text}
              </div>
            ))}
          </pre>
        </>
      ) : (
        <pre className="rich-pre" aria-label={`${rkey.key} at step ${step}`}>
          {text}
        </pre>
      )}
      <Truncated text={q.data?.truncated} />
    </div>
  );
}
