// Images of a key over steps: a strip of thumbnails (lazy <img> from the server's image URLs only) and the
// chosen step large, moved by a slider, a click on a thumbnail or the run page's time line.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef } from "react";
import type { Run } from "../api/types";
import { richSeries, type RichKey } from "./api";
import { ComparedImages } from "./Compared";
import { StepSlider, Truncated } from "./StepSlider";
import { useStep } from "./useStep";

const LIMIT = 500;

export function ImageStrip(props: { runId: string; rkey: RichKey; live: boolean; others: Run[] }) {
  const { runId, rkey, live, others } = props;
  const q = useQuery({
    queryKey: ["rich-series", runId, rkey.key, rkey.steps.length],
    queryFn: () => richSeries(runId, rkey.key, LIMIT),
    refetchInterval: live ? 10_000 : false,
  });
  const values = useMemo(() => q.data?.values ?? [], [q.data]);
  const steps = useMemo(() => values.map((v) => v.step), [values]);
  const [step, setStep] = useStep(runId, steps);
  const current = values.find((v) => v.step === step);
  const strip = useRef<HTMLDivElement>(null);
  useEffect(() => {
    strip.current?.querySelector(".rich-thumb.on")?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [step]);

  if (q.isError) return <div className="empty red">cannot load {rkey.key}: {(q.error as Error).message}</div>;
  if (!values.length) return <div className="empty">loading {rkey.key}…</div>;
  return (
    <div className="rich-images">
      <StepSlider steps={steps} step={step} onChange={setStep} />
      {q.data && q.data.total_steps > values.length && (
        <div className="muted">
          showing {values.length} of {q.data.total_steps} steps, spread evenly
        </div>
      )}
      <div className="rich-strip" ref={strip} role="list" aria-label={`${rkey.key} images`}>
        {values.map((v) => (
          <button
            key={v.step}
            role="listitem"
            className={`rich-thumb${v.step === step ? " on" : ""}`}
            onClick={() => setStep(v.step)}
            title={`step ${v.step}${v.caption ? ` · ${v.caption}` : ""}`}
          >
            <img src={v.image!.url} alt={`${rkey.key} at step ${v.step}`} loading="lazy" decoding="async" />
            <span>{v.step}</span>
          </button>
        ))}
      </div>
      {current?.image && (
        <figure className="rich-figure">
          <img
            src={current.image.url}
            alt={`${rkey.key} at step ${current.step}`}
            width={current.image.width}
            height={current.image.height}
          />
          <figcaption className="muted">
            step {current.step} · {current.image.width}×{current.image.height} {current.image.format}
            {current.caption ? ` · ${current.caption}` : ""}
          </figcaption>
          <Truncated text={current.truncated} />
        </figure>
      )}
      <ComparedImages others={others} rkey={rkey.key} step={step} />
    </div>
  );
}
