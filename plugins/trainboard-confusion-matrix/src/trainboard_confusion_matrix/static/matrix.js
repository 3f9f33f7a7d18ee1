// A logged table -> { labels, counts[actual][predicted] }. Long form: columns actual/true/label, predicted/pred and
// count/n (one row per pair); wide form: the first column names the actual class, the others the predicted ones.

const ACTUAL = ["actual", "true", "label", "y_true"];
const PREDICTED = ["predicted", "pred", "prediction", "y_pred"];
const COUNT = ["count", "n", "value"];

export function matrixOf(table) {
  const names = table.columns.map((c) => c.name.toLowerCase());
  const find = (options) => names.findIndex((n) => options.includes(n));
  const a = find(ACTUAL), p = find(PREDICTED), c = find(COUNT);
  if (a >= 0 && p >= 0) {
    const labels = [];
    const seen = (l) => (labels.includes(l) ? labels.indexOf(l) : labels.push(l) - 1);
    const cells = table.rows.map((r) => [seen(String(r[a])), seen(String(r[p])), c >= 0 ? Number(r[c]) || 0 : 1]);
    const counts = labels.map(() => labels.map(() => 0));
    for (const [i, j, n] of cells) counts[i][j] += n;
    return { labels, counts };
  }
  const labels = table.columns.slice(1).map((col) => col.name);
  const counts = labels.map((l) => {
    const row = table.rows.find((r) => String(r[0]) === l);
    return labels.map((_x, j) => (row ? Number(row[j + 1]) || 0 : 0));
  });
  return { labels, counts };
}
