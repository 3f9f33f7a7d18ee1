// The runs table's keyboard shortcuts (the `?` overlay of /table).
export const TABLE_SHORTCUTS: [string, string][] = [
  ["j / ↓, k / ↑", "next / previous run (the side panel shows it)"],
  ["PgDn / PgUp, Home / End", "20 runs on / back, first / last"],
  ["space or x", "select the run for comparison (shift: a range)"],
  ["a", "add the loaded runs in view to the selection (again: take them out)"],
  ["c", "compare the selected runs (or the focused one)"],
  ["Enter", "open the run's live page"],
  ["Esc", "clear the selection; in the filter: undo the edit"],
  ["/", "edit the filter (Tab completes a key, Enter applies)"],
  ["?", "this help"],
];

export function TableHelp({ onClose }: { onClose(): void }) {
  return (
    <div className="overlay" role="dialog" aria-label="keyboard shortcuts" onClick={onClose}>
      <div className="overlay-box" onClick={(e) => e.stopPropagation()}>
        <div className="panel-head">
          <h2>RUNS TABLE · KEYS</h2>
          <button className="btn" onClick={onClose}>
            [ESC]
          </button>
        </div>
        <table className="table">
          <tbody>
            {TABLE_SHORTCUTS.map(([k, d]) => (
              <tr key={k}>
                <td className="amber">{k}</td>
                <td>{d}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="muted small">
          The grid keys work when the table has the focus (click a row or Tab to it). Click a column header to sort (again:
          descending, a third time: the default order).
        </div>
      </div>
    </div>
  );
}
