// Create a token: name, a scope no higher than the user's role, an expiry; the secret is shown once.
import { useRef, useState, type FormEvent } from "react";
import type { NewToken, Role, Scope } from "./api";
import { scopesFor } from "./place";

const EXPIRIES: { label: string; days: number | undefined }[] = [
  { label: "7 days", days: 7 },
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 },
  { label: "never", days: undefined },
];

export function NewTokenForm(props: {
  role: Role;
  /** the user may launch runs: the launch scope is offered */
  canLaunch?: boolean;
  onCreate(body: { name: string; scope: Scope; expires_in_days?: number }): Promise<NewToken>;
}) {
  const scopes = scopesFor(props.role, props.canLaunch ?? false);
  const [name, setName] = useState("");
  const [scope, setScope] = useState<Scope>(scopes[0] ?? "read");
  const [expiry, setExpiry] = useState("30 days");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<NewToken | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const days = EXPIRIES.find((x) => x.label === expiry)?.days;
      const body: { name: string; scope: Scope; expires_in_days?: number } = { name: name.trim(), scope };
      if (days !== undefined) body.expires_in_days = days;
      setCreated(await props.onCreate(body));
      setName("");
    } catch (err) {
      setError(`cannot create the token: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="new-token">
      <form className="toolbar auth-form" onSubmit={(e) => void submit(e)} aria-label="create a token">
        <label>
          <span>name</span>
          <input
            className="input"
            name="token-name"
            required
            maxLength={100}
            placeholder="e.g. gpu-box"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          <span>scope</span>
          <select className="input" name="token-scope" value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
            {scopes.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>expires in</span>
          <select className="input" name="token-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
            {EXPIRIES.map((x) => (
              <option key={x.label} value={x.label}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
        <button className="btn" type="submit" disabled={busy || !name.trim()}>
          CREATE TOKEN
        </button>
      </form>
      {error && <p className="error">{error}</p>}
      {created && <TokenSecret token={created} onDone={() => setCreated(null)} />}
    </div>
  );
}

/** The new secret, once: a copy button, a warning, and a button that hides it for good. */
export function TokenSecret({ token, onDone }: { token: NewToken; onDone(): void }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token.token);
      setCopied("copied to the clipboard");
    } catch {
      // no clipboard API (plain HTTP on another host): select the text for Ctrl+C
      field.current?.select();
      setCopied("selected: press Ctrl+C to copy");
    }
  };
  return (
    <div className="token-secret" role="region" aria-label="new token">
      <p className="orange">
        New token <b className="amber">{token.name}</b> ({token.scope}). Copy it now: it is shown only this once and
        cannot be recovered. Anyone who has it can act as you with this scope.
      </p>
      <div className="toolbar">
        <input
          ref={field}
          className="input grow secret-value"
          readOnly
          value={token.token}
          aria-label="token secret"
          onFocus={(e) => e.target.select()}
        />
        <button className="btn" type="button" onClick={() => void copy()}>
          COPY
        </button>
        <button className="btn" type="button" onClick={onDone}>
          DONE
        </button>
      </div>
      {copied && <p className="muted small">{copied}</p>}
      <p className="muted small">
        Use it with <span className="amber">export TRAINBOARD_TOKEN=…</span> or <span className="amber">trainboard login URL</span>.
      </p>
    </div>
  );
}
