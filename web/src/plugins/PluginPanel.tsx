import { useEffect, useRef, useState } from "react";
import type { Run } from "../api/types";
import { panelApi, type Cleanup, type PanelInfo, type PanelModule } from "./api";
import { PanelError } from "./PanelBoundary";

/** Imports the panel's ES module and mounts it into its own element; an error while importing or mounting, or
 * an uncaught one from the module's own code later (its event handlers, timers), shows in this box only. */
export function PluginPanel(props: { panel: PanelInfo; run: Run }) {
  const { panel, run } = props;
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let cleanup: Cleanup | undefined;
    let cancelled = false;
    setError(null);
    setReady(false);
    const fail = (e: unknown) => {
      if (!cancelled) setError(e instanceof Error ? e.message : String(e));
    };
    const base = new URL(panel.module_url, window.location.href).href.replace(/[^/]*$/, "");
    const onError = (ev: ErrorEvent) => {
      if (ev.filename && ev.filename.startsWith(base)) {
        ev.preventDefault();
        fail(ev.error ?? ev.message);
      }
    };
    window.addEventListener("error", onError);
    (async () => {
      const mod = (await import(/* @vite-ignore */ panel.module_url)) as Partial<PanelModule>;
      if (typeof mod.mount !== "function") throw new Error(`${panel.module_url} exports no mount(element, api)`);
      const api = await panelApi(panel, run);
      if (cancelled) return;
      const result = await mod.mount(element, api);
      if (typeof result === "function") {
        if (cancelled) result();
        else cleanup = result;
      }
      if (!cancelled) setReady(true);
    })().catch(fail);
    return () => {
      cancelled = true;
      window.removeEventListener("error", onError);
      try {
        cleanup?.();
      } catch {
        /* a cleanup that throws must not break leaving the run */
      }
      element.replaceChildren();
    };
  }, [panel, run.id]); // eslint-disable-line react-hooks/exhaustive-deps -- remount per run, not per status update

  return (
    <div className="plugin-panel" data-plugin={panel.name} aria-busy={!ready && !error}>
      {error && <PanelError name={panel.name} message={error} />}
      <div ref={host} hidden={!!error} />
    </div>
  );
}
