// The focused run's flattened config in the table's side panel; each value can narrow the filter to runs
// sharing it ("more like this").
import { flattenConfig, type Scalar } from "./columns";
import { fmtScalar } from "./diff";
import { appendClause, equalsClause } from "./filterExpr";

export function ConfigFilterList({ config, filter, onFilter }: { config: unknown; filter: string; onFilter(f: string): void }) {
  const flat = Object.entries(flattenConfig(config ?? {})).sort(([a], [b]) => a.localeCompare(b));
  if (flat.length === 0) return <div className="muted small">no config</div>;
  return (
    <table className="xp-table" aria-label="config">
      <tbody>
        {flat.map(([k, v]) => {
          const clause = equalsClause(`config.${k}`, v as Scalar);
          return (
            <tr key={k}>
              <td className="amber">{k}</td>
              <td>{fmtScalar(v as Scalar)}</td>
              <td>
                {clause && (
                  <button
                    className="xp-x"
                    title={`keep runs with ${clause}`}
                    aria-label={`filter ${clause}`}
                    onClick={() => onFilter(appendClause(filter, clause))}
                  >
                    =
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
