// The "New run" dialog: provider (with whether it answers), the command as the argv that will run, environment,
// secrets, working directory, resources the provider supports, config. Opened by the top bar and by "Run again".
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { useCanLaunch } from "../auth/session";
import { getProviders, launchRun, type ProviderInfo } from "./api";
import { closeLaunchDialog, openLaunchDialog, useLaunchDialog } from "./dialogStore";
import { buildLaunch, type FieldErrors, type FormFields } from "./form";
import "./launch.css";
import { EMPTY_PREFILL, type Prefill } from "./prefill";
import { RunPodFields } from "./RunPodFields";
import { joinCommand, splitCommand } from "./shellwords";

/** The top bar's button: only for those who may launch (an admin, an editor granted launch, auth off). */
export function NewRunButton() {
  if (!useCanLaunch()) return null;
  return (
    <button className="btn" onClick={() => openLaunchDialog()} title="launch a run on a provider">
      [+ NEW RUN]
    </button>
  );
}

/** Renders the dialog while it is open (mounted once, in the top bar). */
export function LaunchDialogHost() {
  const st = useLaunchDialog();
  if (!st.open) return null;
  return <LaunchDialog key={st.key} prefill={st.prefill ?? EMPTY_PREFILL} onClose={closeLaunchDialog} />;
}

function envText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

function durationText(seconds: number | null | undefined): string {
  if (!seconds) return "";
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h ? `${h}h${m ? `${m}m` : ""}` : `${m}m`;
}

function initialFields(p: Prefill): FormFields {
  const r = p.resources;
  return {
    provider: p.provider ?? "",
    argv: p.argv,
    envText: envText(p.env),
    secrets: [],
    cwd: p.cwd,
    cpus: r.cpus ? String(r.cpus) : "",
    gpus: r.gpus ? String(r.gpus) : "",
    gpuType: r.gpu_type ?? "",
    memory: r.memory_mb ? `${r.memory_mb}M` : "",
    timeLimit: durationText(r.time_limit),
    image: p.image,
    name: p.name,
    project: p.project,
    configText: Object.keys(p.config).length ? JSON.stringify(p.config, null, 2) : "",
    resumeFrom: p.resume?.checked ? p.resume.runId : "",
    rpVolumeId: p.runpod?.volume?.id ?? "",
    rpVolumeSize: p.runpod?.volume?.size_gb != null ? String(p.runpod.volume.size_gb) : "",
    rpMountPath: p.runpod?.volume?.mount_path ?? "",
    rpInterruptible: !!p.runpod?.interruptible,
    rpBid: p.runpod?.bid_per_gpu != null ? String(p.runpod.bid_per_gpu) : "",
    rpDataCenter: p.runpod?.data_center_id ?? "",
    rpCuda: (p.runpod?.cuda_versions ?? []).join(", "),
  };
}

function Field(props: { label: string; error?: string; hint?: ReactNode; children: ReactNode; wide?: boolean }) {
  return (
    <label className={`lf ${props.wide ? "lf-wide" : ""}`}>
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

function providerLabel(p: ProviderInfo): string {
  return `${p.name} ${p.reachable ? "● reachable" : "✗ unreachable"}`;
}

export function LaunchDialog({ prefill, onClose }: { prefill: Prefill; onClose(): void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const providersQ = useQuery({ queryKey: ["providers"], queryFn: getProviders, refetchInterval: 15_000 });
  const [f, setF] = useState<FormFields>(() => initialFields(prefill));
  const [mode, setMode] = useState<"line" | "list">("line");
  const [line, setLine] = useState(() => joinCommand(prefill.argv));
  const [errors, setErrors] = useState<FieldErrors>({});
  const commandRef = useRef<HTMLTextAreaElement>(null);
  const set = <K extends keyof FormFields>(k: K, v: FormFields[K]) => setF((old) => ({ ...old, [k]: v }));

  const providers = useMemo(() => providersQ.data?.providers ?? [], [providersQ.data]);
  // the prefilled provider, else the first that answers
  useEffect(() => {
    if (providers.length && !providers.some((p) => p.name === f.provider)) {
      set("provider", (providers.find((p) => p.reachable) ?? providers[0])?.name ?? "");
    }
  }, [providers, f.provider]);
  const chosen = providers.find((p) => p.name === f.provider) ?? null;
  const caps = chosen?.capabilities ?? null;

  useEffect(() => commandRef.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const split = useMemo(() => splitCommand(line), [line]);
  const argv = mode === "line" ? split.argv : f.argv;

  const launch = useMutation({
    mutationFn: launchRun,
    onSuccess: (run) => {
      void qc.invalidateQueries({ queryKey: ["runs"] });
      onClose();
      navigate(`/runs/${encodeURIComponent(run.id)}`);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mode === "line" && split.error) {
      setErrors({ argv: split.error });
      return;
    }
    const { body, errors: errs } = buildLaunch({ ...f, argv }, caps, providersQ.data?.env_allowlist ?? []);
    setErrors(errs);
    if (body) launch.mutate(body);
  };

  const switchMode = () => {
    if (mode === "line") {
      set("argv", split.argv);
      setMode("list");
    } else {
      setLine(joinCommand(f.argv));
      setMode("line");
    }
  };

  const off = providersQ.data && !providersQ.data.enabled;
  return (
    <div className="overlay" role="dialog" aria-modal="true" aria-label="new run" onClick={onClose}>
      <form className="overlay-box launch-dialog" onClick={(e) => e.stopPropagation()} onSubmit={submit}>
        <div className="panel-head">
          <h2>{prefill.from ? `RUN AGAIN · ${prefill.from}` : "NEW RUN"}</h2>
          <button type="button" className="btn" onClick={onClose} aria-label="close">
            [ESC]
          </button>
        </div>
        {providersQ.isError && <div className="error launch-msg">cannot list providers: {(providersQ.error as Error).message}</div>}
        {off ? (
          <div className="launch-msg orange">{providersQ.data?.detail ?? "launching is off on this server"}</div>
        ) : (
          <div className="launch-grid">
            <Field label="provider" error={errors.provider} hint={chosen?.detail}>
              <select
                className="input"
                name="provider"
                value={f.provider}
                onChange={(e) => set("provider", e.target.value)}
                disabled={!providers.length}
              >
                {!providers.length && <option value="">{providersQ.isLoading ? "loading…" : "none configured"}</option>}
                {providers.map((p) => (
                  <option key={p.name} value={p.name}>
                    {providerLabel(p)}
                  </option>
                ))}
              </select>
            </Field>
            <div className="lf lf-wide">
              <span className="lf-label">
                command{" "}
                <button type="button" className="btn small-btn" onClick={switchMode}>
                  {mode === "line" ? "[EDIT AS LIST]" : "[EDIT AS LINE]"}
                </button>
              </span>
              {mode === "line" ? (
                <textarea
                  ref={commandRef}
                  className="input launch-command"
                  name="command"
                  aria-label="command line"
                  rows={2}
                  spellCheck={false}
                  placeholder="python train.py --lr 0.001"
                  value={line}
                  onChange={(e) => setLine(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && !e.shiftKey) {
                      e.preventDefault();
                      e.currentTarget.form?.requestSubmit();
                    }
                  }}
                />
              ) : (
                <ArgvList argv={f.argv} onChange={(a) => set("argv", a)} />
              )}
              <ArgvPreview argv={argv} literal={mode === "line" ? split.literal : []} />
              {(errors.argv ?? (mode === "line" ? split.error : null)) && (
                <span className="lf-error error" role="alert">
                  {errors.argv ?? split.error}
                </span>
              )}
            </div>
            <Field label="name">
              <input className="input" name="name" value={f.name} onChange={(e) => set("name", e.target.value)} placeholder="(the command)" />
            </Field>
            <Field label="project">
              <input className="input" name="project" value={f.project} onChange={(e) => set("project", e.target.value)} />
            </Field>
            {caps?.cwd !== false && (
              <Field label="working directory" wide hint={f.provider === "local" ? "inside the server's --launch-root" : "a path on the execution side"}>
                <input className="input" name="cwd" value={f.cwd} onChange={(e) => set("cwd", e.target.value)} placeholder="(default)" />
              </Field>
            )}
            {caps?.image && (
              <Field
                label="image"
                error={errors.image}
                hint={caps.default_image ? "the container image the job runs in (left empty: the server's default)" : "the container image the job runs in"}
              >
                <input className="input" name="image" value={f.image} onChange={(e) => set("image", e.target.value)} placeholder={caps.default_image ?? undefined} />
              </Field>
            )}
            {caps && (caps.cpus || caps.gpus || caps.memory || caps.time_limit) && (
              <fieldset className="lf lf-wide launch-resources">
                <legend className="lf-label">resources</legend>
                {caps.cpus && (
                  <Field label="CPUs" error={errors.cpus}>
                    <input className="input" name="cpus" inputMode="decimal" value={f.cpus} onChange={(e) => set("cpus", e.target.value)} />
                  </Field>
                )}
                {caps.gpus && (
                  <Field label="GPUs" error={errors.gpus}>
                    <input className="input" name="gpus" inputMode="numeric" value={f.gpus} onChange={(e) => set("gpus", e.target.value)} />
                  </Field>
                )}
                {caps.gpus && caps.gpu_types.length > 0 && (
                  <Field label="GPU type">
                    <select className="input" name="gpu_type" value={f.gpuType} onChange={(e) => set("gpuType", e.target.value)}>
                      <option value="">(default)</option>
                      {caps.gpu_types.map((t) => (
                        <option key={t} value={t}>
                          {t}
                        </option>
                      ))}
                    </select>
                  </Field>
                )}
                {caps.memory && (
                  <Field label="memory" error={errors.memory}>
                    <input className="input" name="memory" placeholder="16G" value={f.memory} onChange={(e) => set("memory", e.target.value)} />
                  </Field>
                )}
                {caps.time_limit && (
                  <Field label="time limit" error={errors.timeLimit}>
                    <input className="input" name="time_limit" placeholder="2h" value={f.timeLimit} onChange={(e) => set("timeLimit", e.target.value)} />
                  </Field>
                )}
              </fieldset>
            )}
            {caps?.options?.includes("volume") && <RunPodFields f={f} set={set} errors={errors} />}
            {prefill.resume && (
              <label className="lf lf-wide">
                <span className="lf-label">resume</span>
                <span>
                  <input
                    type="checkbox"
                    name="resume"
                    aria-label="resume from the last checkpoint"
                    checked={f.resumeFrom !== ""}
                    onChange={(e) => set("resumeFrom", e.target.checked ? (prefill.resume?.runId ?? "") : "")}
                  />{" "}
                  resume from the last checkpoint of {prefill.from ?? prefill.resume.runId} (the job gets TRAINBOARD_RESUME_FROM)
                  {prefill.resume.why ? ` · ${prefill.resume.why}` : ""}
                </span>
              </label>
            )}
            <Field
              label="environment"
              wide
              error={errors.envText}
              hint={`NAME=value per line; allowed: ${(providersQ.data?.env_allowlist ?? []).join(" ") || "…"}`}
            >
              <textarea
                className="input"
                name="env"
                rows={2}
                spellCheck={false}
                value={f.envText}
                onChange={(e) => set("envText", e.target.value)}
              />
            </Field>
            <SecretRows
              secrets={f.secrets}
              onChange={(s) => set("secrets", s)}
              error={errors.secrets}
            />
            <Field label="config (JSON)" wide error={errors.configText}>
              <textarea
                className="input"
                name="config"
                rows={Math.min(8, Math.max(2, f.configText.split("\n").length))}
                spellCheck={false}
                value={f.configText}
                onChange={(e) => set("configText", e.target.value)}
                placeholder='{"lr": 0.001}'
              />
            </Field>
          </div>
        )}
        {launch.isError && (
          <div className="error launch-msg" role="alert">
            launch refused: {(launch.error as Error).message}
          </div>
        )}
        <div className="btnrow launch-actions">
          <button type="submit" className="btn on" disabled={!!off || launch.isPending || !providers.length}>
            {launch.isPending ? "[LAUNCHING…]" : "[LAUNCH]"}
          </button>
          <button type="button" className="btn" onClick={onClose}>
            [CLOSE]
          </button>
        </div>
      </form>
    </div>
  );
}

/** The argv exactly as the job will get it: one box per word, nothing interpreted. */
function ArgvPreview({ argv, literal }: { argv: string[]; literal: string[] }) {
  return (
    <div className="argv-preview" aria-label="argv that will run">
      <span className="muted">
        {argv.length
          ? `runs without a shell, as ${argv.length} word${argv.length === 1 ? "" : "s"}:`
          : "runs without a shell: each word of the command will show here as the program gets it"}
      </span>
      <ol className="argv-words">
        {argv.map((w, i) => (
          <li key={i} data-testid="argv-word">
            <code>{w === "" ? "\u00a0" : w}</code>
          </li>
        ))}
      </ol>
      {literal.length > 0 && (
        <span className="orange">no shell: {literal.join(", ")} are passed to the program as plain text</span>
      )}
    </div>
  );
}

function ArgvList({ argv, onChange }: { argv: string[]; onChange(a: string[]): void }) {
  const words = argv.length ? argv : [""];
  return (
    <div className="argv-list">
      {words.map((w, i) => (
        <div className="argv-row" key={i}>
          <span className="muted">{i}</span>
          <input
            className="input"
            aria-label={`argv ${i}`}
            value={w}
            onChange={(e) => onChange(words.map((x, j) => (j === i ? e.target.value : x)))}
          />
          <button type="button" className="btn" aria-label={`remove argv ${i}`} onClick={() => onChange(words.filter((_, j) => j !== i))}>
            −
          </button>
        </div>
      ))}
      <button type="button" className="btn" onClick={() => onChange([...words, ""])}>
        [+ WORD]
      </button>
    </div>
  );
}

function SecretRows(props: { secrets: FormFields["secrets"]; onChange(s: FormFields["secrets"]): void; error?: string }) {
  const { secrets, onChange } = props;
  return (
    <div className="lf lf-wide">
      <span className="lf-label">
        secrets{" "}
        <button type="button" className="btn small-btn" onClick={() => onChange([...secrets, { name: "", value: "" }])}>
          [+ SECRET]
        </button>
      </span>
      {secrets.map((s, i) => (
        <div className="secret-row" key={i}>
          <input
            className="input"
            aria-label={`secret ${i} name`}
            placeholder="WANDB_API_KEY"
            value={s.name}
            onChange={(e) => onChange(secrets.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
          />
          <input
            className="input"
            type="password"
            autoComplete="off"
            aria-label={`secret ${i} value`}
            value={s.value}
            onChange={(e) => onChange(secrets.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
          />
          <button type="button" className="btn" aria-label={`remove secret ${i}`} onClick={() => onChange(secrets.filter((_, j) => j !== i))}>
            −
          </button>
        </div>
      ))}
      <span className="lf-hint muted">passed to the job's environment; never stored, shown or copied by “Run again”</span>
      {props.error && <span className="lf-error error">{props.error}</span>}
    </div>
  );
}
