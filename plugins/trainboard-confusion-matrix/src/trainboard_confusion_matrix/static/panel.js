// trainboard panel plugin: a confusion matrix from a logged table. mount(element, api) is the whole contract
// (web/src/plugins/api.ts); everything is drawn with DOM nodes and textContent: a label is never parsed as HTML.

import { matrixOf } from "./matrix.js";

export function mount(el, api) {
  const key = api.rich.find((k) => k.kind === "table");
  if (!key) {
    el.append(text("div", "no table key matching *confusion* in this run", api.theme.muted));
    return;
  }
  const head = document.createElement("div");
  head.style.cssText = "display:flex;gap:8px;align-items:center;margin-bottom:6px";
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(key.steps.length - 1);
  slider.value = String(key.steps.length - 1);
  slider.setAttribute("aria-label", "step");
  const label = text("span", "", api.theme.foreground);
  head.append(text("span", key.key, api.theme.accent), slider, label);
  const body = document.createElement("div");
  el.append(head, body);
  let current = 0;

  async function show(index) {
    const step = key.steps[index];
    const ticket = ++current;
    label.textContent = `step ${step} · loading…`;
    const value = await api.richValue(key.key, step);
    if (ticket !== current) return; // a newer step was asked for meanwhile
    const m = matrixOf(value.table);
    const total = m.counts.flat().reduce((a, b) => a + b, 0);
    const right = m.labels.reduce((a, _l, i) => a + m.counts[i][i], 0);
    label.textContent = `step ${step} · accuracy ${total ? ((100 * right) / total).toFixed(1) : "—"}% of ${total}`;
    body.replaceChildren(grid(m, api.theme));
  }

  slider.addEventListener("input", () => void show(Number(slider.value)));
  return show(key.steps.length - 1).then(() => () => el.replaceChildren());
}

function text(tag, value, color) {
  const node = document.createElement(tag);
  node.textContent = value;
  if (color) node.style.color = color;
  return node;
}

function grid(m, theme) {
  const table = document.createElement("table");
  table.setAttribute("aria-label", "confusion matrix");
  table.style.cssText = `border-collapse:collapse;font:12px ${theme.font};color:${theme.foreground}`;
  const top = table.insertRow();
  top.append(text("th", "actual \\ predicted", theme.muted));
  for (const l of m.labels) top.append(text("th", l, theme.accent));
  m.labels.forEach((l, i) => {
    const row = table.insertRow();
    row.append(text("th", l, theme.accent));
    const sum = m.counts[i].reduce((a, b) => a + b, 0) || 1;
    m.counts[i].forEach((n, j) => {
      const cell = text("td", String(n));
      const share = n / sum;
      cell.style.cssText = `padding:2px 6px;text-align:right;border:1px solid ${theme.muted};` +
        `background:${i === j ? theme.green : theme.red};background-color:color-mix(in srgb, ${i === j ? theme.green : theme.red} ${Math.round(share * 100)}%, transparent)`;
      cell.title = `${l} predicted as ${m.labels[j]}: ${n} (${(100 * share).toFixed(1)}% of ${l})`;
      row.append(cell);
    });
  });
  return table;
}
