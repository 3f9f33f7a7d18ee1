import { useQuery } from "@tanstack/react-query";
import type { Run } from "../api/types";
import { Panel } from "../components/Panel";
import { listPlugins } from "./api";
import { PanelBoundary } from "./PanelBoundary";
import { PluginPanel } from "./PluginPanel";

/** The enabled panel plugins' boxes for `run` (none when no plugin is enabled), and the plugins that failed to
 * load on the server, said in one box. */
export function PluginPanels(props: { run: Run }) {
  const q = useQuery({ queryKey: ["plugins"], queryFn: listPlugins, staleTime: Infinity, retry: 1 });
  if (!q.data) return null;
  const { panels, errors } = q.data;
  return (
    <>
      {panels.map((p) => (
        <Panel key={p.name} title={`${p.title} · ${p.name}`} className="p-plugin">
          <PanelBoundary name={p.name}>
            <PluginPanel panel={p} run={props.run} />
          </PanelBoundary>
        </Panel>
      ))}
      {errors.length > 0 && (
        <Panel title="PLUGINS" className="p-plugin">
          {errors.map((e) => (
            <div key={`${e.group}:${e.name}`} className="plugin-error red" role="alert">
              {e.name}: {e.error}
            </div>
          ))}
        </Panel>
      )}
    </>
  );
}
