export const SHORTCUTS: [string, string][] = [
  ["j / ↓", "next run"],
  ["k / ↑", "previous run"],
  ["/", "search runs"],
  ["l", "focus the log terminal"],
  ["f", "search in the log"],
  ["t", "switch TERMINAL / LINES"],
  ["c", "clear the chart comparison (overlaid runs)"],
  ["?", "this help"],
  ["Esc", "close help / leave a field / back to live (from a step marked on a chart)"],
];

export function HelpOverlay({ onClose }: { onClose(): void }) {
  return (
    <div className="overlay" role="dialog" aria-label="keyboard shortcuts" onClick={onClose}>
      <div className="overlay-box" onClick={(e) => e.stopPropagation()}>
        <div className="panel-head">
          <h2>KEYBOARD SHORTCUTS</h2>
          <button className="btn" onClick={onClose}>
            [ESC]
          </button>
        </div>
        <table className="table">
          <tbody>
            {SHORTCUTS.map(([k, d]) => (
              <tr key={k}>
                <td className="amber">{k}</td>
                <td>{d}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="muted small">Charts: drag to zoom (fetches finer data), double-click to reset.</div>
      </div>
    </div>
  );
}
