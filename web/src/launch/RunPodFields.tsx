// The Launch dialog's RunPod section: a network volume (or a pod volume), spot pods with their bid, the data
// centre and CUDA versions for this launch. Empty fields keep providers.toml's values.
import type { ReactNode } from "react";
import type { FieldErrors, FormFields } from "./form";

type Setter = <K extends keyof FormFields>(k: K, v: FormFields[K]) => void;

function Row(props: { label: string; error?: string; hint?: string; children: ReactNode }) {
  return (
    <label className="lf">
      <span className="lf-label">{props.label}</span>
      {props.children}
      {props.hint && <span className="lf-hint muted">{props.hint}</span>}
      {props.error && (
        <span className="lf-error error" role="alert">
          {props.error}
        </span>
      )}
    </label>
  );
}

export function RunPodFields({ f, set, errors }: { f: FormFields; set: Setter; errors: FieldErrors }) {
  return (
    <fieldset className="lf lf-wide launch-resources" aria-label="runpod options">
      <legend className="lf-label">RunPod (empty: the server's providers.toml)</legend>
      <Row label="network volume" error={errors.rpVolumeId} hint="outlives the pod: checkpoints go there">
        <input className="input" name="rp_volume" value={f.rpVolumeId} onChange={(e) => set("rpVolumeId", e.target.value)} />
      </Row>
      <Row label="volume GB" error={errors.rpVolumeSize} hint="without a network volume: a pod volume">
        <input className="input" name="rp_volume_gb" inputMode="numeric" value={f.rpVolumeSize} onChange={(e) => set("rpVolumeSize", e.target.value)} />
      </Row>
      <Row label="mount path" error={errors.rpMountPath}>
        <input className="input" name="rp_mount" placeholder="/workspace" value={f.rpMountPath} onChange={(e) => set("rpMountPath", e.target.value)} />
      </Row>
      <label className="lf">
        <span className="lf-label">spot</span>
        <span>
          <input
            type="checkbox"
            name="rp_spot"
            aria-label="spot (interruptible) pod"
            checked={f.rpInterruptible}
            onChange={(e) => set("rpInterruptible", e.target.checked)}
          />{" "}
          interruptible: cheaper, taken back when outbid
        </span>
      </label>
      <Row label="bid $/GPU/h" error={errors.rpBid}>
        <input className="input" name="rp_bid" inputMode="decimal" value={f.rpBid} onChange={(e) => set("rpBid", e.target.value)} />
      </Row>
      <Row label="data centre" error={errors.rpDataCenter}>
        <input className="input" name="rp_dc" placeholder="EU-RO-1" value={f.rpDataCenter} onChange={(e) => set("rpDataCenter", e.target.value)} />
      </Row>
      <Row label="CUDA versions" error={errors.rpCuda}>
        <input className="input" name="rp_cuda" placeholder="12.4, 12.6" value={f.rpCuda} onChange={(e) => set("rpCuda", e.target.value)} />
      </Row>
    </fieldset>
  );
}
