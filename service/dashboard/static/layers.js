// The job page's "layers" panel (docs/api.md, "Diagnostics"): each layer's gradient norm per
// epoch on a log scale (a vanishing gradient shows as a line decades below the others), the
// latest epoch's per-layer table with its dead and saturated fractions, and the job's warnings.
// Loaded before app.js, whose el/svg/num/table helpers it uses when called.
"use strict";

function layersPanel(job, rows) {
  const epochs = rows.filter((r) => r.diagnostics && r.diagnostics.layers);
  const warnings = job.warnings || [];
  const said = warnings.length
    ? el("ul", { id: "layer-warnings", class: "problem" }, warnings.map((w) => el("li", {}, w)))
    : el("p", { id: "layer-warnings", class: "muted" }, epochs.length ? "No warnings."
      : "No diagnostics yet (or the job runs with training.diagnostics off).");
  if (!epochs.length) return [el("h2", {}, "Layers"), said];
  const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
  const latest = epochs[epochs.length - 1].diagnostics.layers;
  const health = table(["Layer", "Activation", "Gradient norm", "Weight norm", "Update ratio", "Dead", "Saturated"],
    latest.map((l) => el("tr", {}, el("td", {}, l.layer), el("td", {}, l.activation), el("td", {}, num(l.grad_norm, 3)),
      el("td", {}, num(l.weight_norm, 3)), el("td", {}, num(l.update_ratio, 3)), el("td", {}, pct(l.dead)),
      el("td", {}, pct(l.saturated)))), "layers-table");
  return [el("h2", {}, "Layers"), said, gradientChart(epochs), health];
}

function gradientChart(epochs) {
  const W = 720, H = 260, L = 56, R = 110, T = 14, B = 36;
  const count = epochs[0].diagnostics.layers.length;
  const log = (v) => Math.log10(v);
  const values = epochs.flatMap((r) => r.diagnostics.layers.map((l) => l.grad_norm))
    .filter((v) => typeof v === "number" && isFinite(v) && v > 0);
  const root = svg("svg", { id: "gradient-chart", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "gradient norm per layer per epoch, log scale", "data-layers": count,
    "data-points": epochs.length });
  if (!values.length) return root;
  let lo = Math.floor(log(Math.min(...values))), hi = Math.ceil(log(Math.max(...values)));
  if (hi === lo) hi += 1;
  const maxEpoch = Math.max(epochs[epochs.length - 1].epoch, 2);
  const x = (e) => L + ((e - 1) / (maxEpoch - 1)) * (W - L - R);
  const y = (v) => T + (1 - (log(v) - lo) / (hi - lo)) * (H - T - B);
  const step = Math.max(1, Math.ceil((hi - lo) / 6));
  for (let p = lo; p <= hi; p += step) {
    root.append(svg("line", { x1: L, x2: W - R, y1: y(10 ** p), y2: y(10 ** p), class: "grid" }),
      svg("text", { x: L - 6, y: y(10 ** p) + 4, "text-anchor": "end", class: "axis-label" }, `1e${p}`));
  }
  root.append(svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", class: "axis-label" }, "epoch"));
  for (let i = 0; i < count; i++) {
    const color = `hsl(${Math.round((360 * i) / count)}, 65%, 45%)`;
    const pts = epochs.map((r) => [r.epoch, r.diagnostics.layers[i].grad_norm])
      .filter(([, v]) => typeof v === "number" && isFinite(v) && v > 0);
    if (!pts.length) continue;
    root.append(svg("polyline", { fill: "none", stroke: color, "stroke-width": 2, "data-layer": i + 1,
      "data-points": pts.length, points: pts.map(([e, v]) => `${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(" ") }));
    if (pts.length === 1) root.append(svg("circle", { fill: color, cx: x(pts[0][0]), cy: y(pts[0][1]), r: 3 }));
    root.append(svg("text", { x: W - R + 8, y: T + 12 + i * 16, fill: color, class: "legend" }, `layer ${i + 1}`));
  }
  return root;
}
