// Saved views of the runs table, per project (filter, sort and columns), kept on the server.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { deleteView, listViews, saveView, type SavedView } from "./api";
import type { TableState } from "./useTableState";

interface Props {
  state: TableState;
  columns: string[];
  onApply(v: SavedView): void;
}

export function SavedViews({ state, columns, onApply }: Props) {
  const qc = useQueryClient();
  const project = state.project;
  const [name, setName] = useState("");
  const [saving, setSaving] = useState(false);
  const views = useQuery({ queryKey: ["xp", "views", project], queryFn: () => listViews(project) });
  const save = useMutation({
    mutationFn: (n: string) => saveView({ name: n, project, filter: state.filter, sort: state.sort, columns }),
    onSuccess: () => {
      setSaving(false);
      setName("");
      void qc.invalidateQueries({ queryKey: ["xp", "views", project] });
    },
  });
  const remove = useMutation({
    mutationFn: (n: string) => deleteView(project, n),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["xp", "views", project] }),
  });
  const list = views.data ?? [];
  const current = list.find(
    (v) => v.filter === state.filter && v.sort === state.sort && v.columns.join("\n") === columns.join("\n"),
  );
  return (
    <span className="xp-views">
      <select
        className="input"
        aria-label="saved views"
        value={current?.name ?? ""}
        onChange={(e) => {
          const v = list.find((x) => x.name === e.target.value);
          if (v) onApply(v);
        }}
      >
        <option value="">{views.isError ? "views unavailable" : list.length ? "saved views…" : "no saved views"}</option>
        {list.map((v) => (
          <option key={v.name} value={v.name}>
            {v.name}
          </option>
        ))}
      </select>
      {current && (
        <button className="btn" title={`delete the view ${current.name}`} onClick={() => remove.mutate(current.name)}>
          ×
        </button>
      )}
      {saving ? (
        <form
          className="xp-inline"
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim()) save.mutate(name.trim());
          }}
        >
          <input
            className="input"
            autoFocus
            aria-label="view name"
            placeholder={`view name (${project || "default"})`}
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") setSaving(false);
            }}
          />
          <button className="btn" type="submit" disabled={!name.trim()}>
            SAVE
          </button>
        </form>
      ) : (
        <button className="btn" onClick={() => setSaving(true)} title="save filter, sort and columns as a view of this project">
          SAVE VIEW
        </button>
      )}
      {(save.error ?? remove.error) && <span className="red small">{((save.error ?? remove.error) as Error).message}</span>}
    </span>
  );
}
