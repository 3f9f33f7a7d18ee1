// A text per step (an LLM's generations): a step slider, and a line diff against another step. The text is shown
// as text (React escapes it): nothing a run logged is ever read as HTML.
import { useMemo, useState } from "react";
import type { Run } from "../api/types";
import type { RichKey } from "./api";
import { useCompared } from "./Compared";
import { lineDiff } from "./model";
import { StepSlider, Truncated } from "./StepSlider";
import { useRichValue } from "./useRichValue";
import { useStep } from "./useStep";

export function TextView({ runId, rkey, others }: { runId: string; rkey: RichKey; others: Run[] }) {
  const [step, setStep] = useStep(runId, rkey.steps);
  const [against, setAgainst] = useState<number | null>(null);
  const [againstRun, setAgainstRun] = useState<string | null>(null); // a compared run's text at this step
  const compared = useCompared(others, rkey.key, step);
  const runIndex = others.findIndex((r) => r.id === againstRun);
  const runValue = runIndex >= 0 ? compared[runIndex] : undefined;
  const q = useRichValue(runId, rkey.key, step);
  const other = useRichValue(runId, rkey.key, against);
  const text = q.data?.text?.text ?? "";
  const diff = useMemo(() => {
    if (runValue?.text) return lineDiff(runValue.text.text, text);
    return against !== null && other.data?.text ? lineDiff(other.data.text.text, text) : null;
  }, [against, other.data, text, runValue]);
  const previous = step !== null ? rkey.steps[rkey.steps.indexOf(step) - 1] : undefined;
  return (
    <div className="rich-text">
      <div className="rich-controls">
        <StepSlider steps={rkey.steps} step={step} onChange={setStep} />
        <label className="rich-diff-toggle">
          <input
            type="checkbox"
            checked={against !== null}
            onChange={(e) => {
              setAgainst(e.target.checked ? (previous ?? rkey.steps[0] ?? null) : null);
              setAgainstRun(null);
            }}
          />{" "}
          DIFF
        </label>
        {against !== null && <StepSlider steps={rkey.steps} step={against} onChange={setAgainst} label="against step" />}
        {others.length > 0 && (
          <select
            aria-label="diff against a compared run"
            value={againstRun ?? ""}
            onChange={(e) => {
              setAgainstRun(e.target.value || null);
              setAgainst(null);
            }}
          >
            <option value="">diff against a compared run…</option>
            {others.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} at this step
              </option>
            ))}
          </select>
        )}
        {againstRun && runValue === null && <span className="amber">that run has no {rkey.key} at step {step}</span>}
      </div>
      {q.isError && <div className="empty red">cannot load step {step}: {(q.error as Error).message}</div>}
      {diff ? (
        <>
          {!diff.exact && <div className="amber">the texts differ too much to diff line by line: every changed line is shown removed, then added</div>}
          <pre
            className="rich-pre rich-diff"
            aria-label={runValue?.text ? `diff of ${others[runIndex]?.name} and this run at step ${step}` : `diff of step ${against} and step ${step}`}
          >
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
