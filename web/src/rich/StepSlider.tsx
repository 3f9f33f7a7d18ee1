// A slider over the steps a key has a value at (by index: steps need not be evenly spaced).
export function StepSlider(props: { steps: number[]; step: number | null; onChange: (step: number) => void; label?: string }) {
  const { steps, step, onChange } = props;
  const index = step === null ? steps.length - 1 : Math.max(0, steps.indexOf(step));
  const label = props.label ?? "step";
  return (
    <label className="rich-slider">
      <span className="muted">{label}</span>
      <input
        type="range"
        min={0}
        max={Math.max(0, steps.length - 1)}
        value={index}
        aria-label={label}
        onChange={(e) => onChange(steps[Number(e.target.value)]!)}
        disabled={steps.length < 2}
      />
      <span className="amber rich-step">{step ?? "—"}</span>
      <span className="muted">
        ({index + 1} of {steps.length})
      </span>
    </label>
  );
}

/** What the client cut or left out of a value, said where the value is shown. */
export function Truncated({ text }: { text: string | null | undefined }) {
  return text ? <div className="rich-truncated amber">⚠ {text}</div> : null;
}
