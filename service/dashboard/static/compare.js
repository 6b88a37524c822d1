// The comparison page (#/compare?jobs=ID,ID,…): the jobs' training loss (solid) and validation
// loss (dashed) in one chart, a colour per job, its legend naming only the settings in which the
// jobs differ; then a table of their final metrics, linked to each job and model.
// Loaded before app.js, whose el/svg/api/num/table helpers it uses when called.
"use strict";

const COMPARE_MAX = 8;

// A spec as {"training.epochs": 30, "network.hidden_layers": "64 relu, 32 tanh", …}.
function flatSpec(spec, prefix = "", out = {}) {
  for (const [key, value] of Object.entries(spec || {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (key === "hidden_layers" && Array.isArray(value)) {
      out[path] = value.map((l) => `${l.units} ${l.activation}${l.dropout ? ` drop ${l.dropout}` : ""}`).join(", ") || "none";
    } else if (value && typeof value === "object" && !Array.isArray(value)) flatSpec(value, path, out);
    else out[path] = JSON.stringify(value);
  }
  return out;
}

function differences(jobs) {
  const flat = jobs.map((j) => ({ ...flatSpec(j.spec), dataset: j.dataset_id }));
  const keys = [...new Set(flat.flatMap(Object.keys))].filter((k) => new Set(flat.map((f) => f[k])).size > 1);
  return flat.map((f) => keys.map((k) => `${k.replace(/^(training|network)\./, "")}=${f[k] ?? "–"}`).join(" · ") || "same settings");
}

async function showCompare(params, token) {
  const ids = (params.get("jobs") || "").split(",").filter(Boolean).slice(0, COMPARE_MAX);
  view.append(el("p", {}, link("#/", "← Jobs")), el("h1", {}, `Comparing ${ids.length} jobs`));
  if (ids.length < 2) { view.append(el("p", {}, "Select two jobs or more on the jobs page.")); return; }
  let jobs, histories;
  try {
    jobs = await Promise.all(ids.map((id) => api(`/v1/jobs/${id}`)));
    histories = await Promise.all(ids.map((id) => api(`/v1/jobs/${id}/history`).then((h) => h.data)));
  } catch (error) { view.append(problemBox(error)); return; }
  if (token !== routeToken) return;
  const labels = differences(jobs);
  const colors = jobs.map((_, i) => `hsl(${Math.round((360 * i) / jobs.length + 220) % 360}, 70%, 40%)`);
  view.append(el("div", { class: "card" }, el("h2", {}, "Loss (solid) and validation loss (dashed)"),
    compareChart(jobs, histories, colors),
    el("ul", { class: "legend-list", id: "compare-legend" }, jobs.map((j, i) => el("li", { "data-job": j.id },
      el("span", { class: "swatch", "data-color": i }), link(`#/jobs/${j.id}`, j.id), ` ${labels[i]}`)))));
  // The swatches' colours: set through the CSSOM (the CSP forbids inline style attributes).
  view.querySelectorAll(".swatch").forEach((s) => { s.style.background = colors[Number(s.dataset.color)]; });
  const metric = (j, k) => num((j.metrics || {})[k]);
  view.append(table(["Job", "Status", "Epochs", "Best epoch", "Loss", "Val loss", "Val accuracy / R²", "Model"],
    jobs.map((j) => el("tr", { "data-job": j.id }, el("td", {}, link(`#/jobs/${j.id}`, j.id)), el("td", {}, badge(j.status)),
      el("td", {}, `${(j.progress || {}).epoch || 0}/${(j.progress || {}).epochs || "?"}`), el("td", {}, j.best_epoch ?? "–"),
      el("td", {}, metric(j, "loss")), el("td", {}, metric(j, "val_loss")),
      el("td", {}, (j.metrics || {}).val_accuracy !== undefined ? metric(j, "val_accuracy") : metric(j, "val_r2")),
      el("td", {}, j.model_id ? link(`#/models/${j.model_id}`, j.model_id) : "–"))), "compare-table"));
}

function compareChart(jobs, histories, colors) {
  const W = 720, H = 320, L = 56, R = 16, T = 14, B = 36;
  const values = histories.flat().flatMap((r) => [r.loss, r.val_loss]).filter((v) => typeof v === "number" && isFinite(v));
  const root = svg("svg", { id: "compare-chart", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `training and validation loss of ${jobs.length} jobs per epoch` });
  if (!values.length) return root;
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
  const maxEpoch = Math.max(2, ...histories.map((h) => (h.length ? h[h.length - 1].epoch : 1)));
  const x = (e) => L + ((e - 1) / (maxEpoch - 1)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis-label" }, num(v, 3)));
  }
  root.append(svg("text", { x: L, y: H - B + 16, "text-anchor": "middle", class: "axis-label" }, 1),
    svg("text", { x: W - R, y: H - B + 16, "text-anchor": "end", class: "axis-label" }, maxEpoch),
    svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", class: "axis-label" }, "epoch"));
  jobs.forEach((job, i) => {
    for (const key of ["loss", "val_loss"]) {
      const pts = histories[i].filter((r) => typeof r[key] === "number" && isFinite(r[key]));
      if (!pts.length) continue;
      root.append(svg("polyline", { fill: "none", stroke: colors[i], "stroke-width": 2,
        "stroke-dasharray": key === "val_loss" ? "5 4" : "none", "data-job": job.id, "data-series": key,
        "data-points": pts.length, points: pts.map((r) => `${x(r.epoch).toFixed(1)},${y(r[key]).toFixed(1)}`).join(" ") }));
    }
  });
  return root;
}
