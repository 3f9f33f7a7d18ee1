// One run's metadata, editable: name, tags, notes (Markdown), archive / restore, delete.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { StatusBadge } from "../components/StatusBadge";
import { changeTags, deleteRuns, updateRun, type ExpRun, type RunPatch } from "./api";
import { NotesView } from "./Notes";

/** Tags as typed: split on commas and spaces, trimmed, deduplicated, in order. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean))];
}

export function RunMeta({ run, onDeleted }: { run: ExpRun; onDeleted?(id: string): void }) {
  const qc = useQueryClient();
  const [name, setName] = useState(run.name);
  const [tagDraft, setTagDraft] = useState("");
  const [notes, setNotes] = useState(run.notes ?? "");
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => {
    setName(run.name);
    setNotes(run.notes ?? "");
    setEditing(false);
    setConfirmDelete(false);
  }, [run.id, run.name, run.notes]);

  const refresh = () => void qc.invalidateQueries({ queryKey: ["xp"] });
  const patch = useMutation({ mutationFn: (p: RunPatch) => updateRun(run.id, p), onSuccess: refresh });
  const tagM = useMutation({ mutationFn: (c: { add?: string[]; remove?: string[] }) => changeTags(run.id, c), onSuccess: refresh });
  const del = useMutation({
    mutationFn: () => deleteRuns([run.id]),
    onSuccess: () => {
      refresh();
      onDeleted?.(run.id);
    },
  });
  const tags = run.tags ?? [];
  const addTags = () => {
    const add = parseTags(tagDraft).filter((t) => !tags.includes(t));
    setTagDraft("");
    if (add.length) tagM.mutate({ add });
  };
  const error = (patch.error ?? tagM.error ?? del.error) as Error | null;

  return (
    <div className="xp-meta" aria-label={`run ${run.name}`}>
      <div className="xp-meta-head">
        <StatusBadge status={run.status} />
        <Link to={`/runs/${encodeURIComponent(run.id)}`} className="xp-runlink" title="open the run page">
          {run.name}
        </Link>
        {run.archived && <span className="xp-tag muted">archived</span>}
      </div>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim() && name.trim() !== run.name) patch.mutate({ name: name.trim() });
        }}
      >
        <input className="input grow" aria-label="run name" value={name} onChange={(e) => setName(e.target.value)} maxLength={512} />
        <button className="btn" type="submit" disabled={!name.trim() || name.trim() === run.name}>
          RENAME
        </button>
      </form>
      <div className="toolbar" aria-label="tags">
        {tags.map((t) => (
          <span key={t} className="xp-tag">
            {t}
            <button
              className="xp-x"
              aria-label={`remove tag ${t}`}
              onClick={() => tagM.mutate({ remove: [t] })}
            >
              ×
            </button>
          </span>
        ))}
        <form
          className="xp-inline"
          onSubmit={(e) => {
            e.preventDefault();
            addTags();
          }}
        >
          <input
            className="input"
            placeholder="+ tag"
            aria-label="add tags"
            value={tagDraft}
            onChange={(e) => setTagDraft(e.target.value)}
            maxLength={200}
          />
        </form>
      </div>
      <div className="xp-notes-box">
        <div className="toolbar">
          <span className="muted">NOTES</span>
          <span className="grow" />
          {editing ? (
            <>
              <button
                className="btn"
                onClick={() => {
                  patch.mutate({ notes }, { onSuccess: () => setEditing(false) });
                }}
              >
                SAVE
              </button>
              <button
                className="btn"
                onClick={() => {
                  setNotes(run.notes ?? "");
                  setEditing(false);
                }}
              >
                CANCEL
              </button>
            </>
          ) : (
            <button className="btn" onClick={() => setEditing(true)}>
              EDIT
            </button>
          )}
        </div>
        {editing ? (
          <textarea
            className="input xp-notes-edit"
            aria-label="notes (Markdown)"
            value={notes}
            autoFocus
            onChange={(e) => setNotes(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) patch.mutate({ notes }, { onSuccess: () => setEditing(false) });
              if (e.key === "Escape") setEditing(false);
            }}
            placeholder="Markdown: **bold**, lists, `code`, links (Ctrl+Enter saves)"
          />
        ) : (
          <NotesView text={run.notes ?? ""} />
        )}
      </div>
      <div className="toolbar">
        <button className="btn" onClick={() => patch.mutate({ archived: !run.archived })}>
          {run.archived ? "RESTORE" : "ARCHIVE"}
        </button>
        {confirmDelete ? (
          <>
            <button className="btn danger" onClick={() => del.mutate()}>
              DELETE {run.name}? YES
            </button>
            <button className="btn" onClick={() => setConfirmDelete(false)}>
              NO
            </button>
          </>
        ) : (
          <button className="btn danger" onClick={() => setConfirmDelete(true)}>
            DELETE…
          </button>
        )}
      </div>
      {error && <div className="red small">{error.message}</div>}
    </div>
  );
}
