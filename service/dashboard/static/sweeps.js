// Sweeps (docs/api.md "Sweeps"): the list, and a sweep's page — its counts and best trial, a
// scatter of each parameter against the metric, every trial's metric curve overlaid, and the
// trials' table. Loaded after app.js, whose el/svg/num/badge/link/api/every/say/table helpers it
// uses, and whose router it adds #/sweeps and #/sweeps/{id} to.
"use strict";

addPage("sweeps", (parts, params, token) => (parts[1] ? showSweep(parts[1], token) : showSweeps(token)));

const TRIAL_COLORS = { succeeded: "#2563eb", pruned: "#94a3b8", running: "#0369a1", queued: "#cbd5e1",
  failed: "#b91c1c", cancelled: "#cbd5e1" };

function sweepDone(s) {
  return Object.entries(s.counts || {}).filter(([k]) => k !== "queued" && k !== "running").reduce((a, [, v]) => a + v, 0);
}

async function showSweeps(token) {
  const holder = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  view.append(el("section", {}, el("h1", {}, "Sweeps"), holder));
  async function refresh() {
    try {
      const page = await api("/v1/sweeps?limit=50");
      if (token !== routeToken) return;
      const rows = page.data.map((s) => el("tr", { "data-sweep-id": s.id, "data-status": s.status },
        el("td", {}, link(`#/sweeps/${s.id}`, s.id)), el("td", {}, badge(s.status)), el("td", {}, s.method),
        el("td", {}, `${s.metric.name} (${s.metric.goal})`), el("td", {}, `${sweepDone(s)}/${s.max_trials}`),
        el("td", {}, String((s.counts || {}).pruned || 0)), el("td", {}, num(s.best ? s.best.value : null)),
        el("td", {}, when(s.created_at))));
      holder.replaceChildren(table(["Sweep", "Status", "Method", "Metric", "Trials", "Pruned", "Best",
        "Created"], rows, "sweeps-table"));
      say(`Updated ${new Date().toLocaleTimeString()}`);
    } catch (error) { holder.replaceChildren(problemBox(error)); }
  }
  await refresh();
  every(REFRESH_MS, refresh);
}

async function showSweep(id, token) {
  const header = el("div", {}), scatter = el("div", { class: "card" }), curves = el("div", { class: "card" });
  const trialsCard = el("div", { class: "card" });
  view.append(el("p", {}, link("#/sweeps", "← Sweeps")), header, scatter, curves, trialsCard);
  const histories = {}; // job id → history rows; a finished trial's are fetched once
  async function tick() {
    try {
      const sweep = await api(`/v1/sweeps/${id}`);
      const trials = (await api(`/v1/sweeps/${id}/trials`)).data;
      for (const t of trials) {
        if (t.status === "queued" || (histories[t.job_id] && histories[t.job_id].final)) continue;
        const rows = (await api(`/v1/jobs/${t.job_id}/history`)).data;
        histories[t.job_id] = { rows, final: !["queued", "running"].includes(t.status) };
      }
      if (token !== routeToken) return;
      renderSweep(sweep, trials, histories, header, scatter, curves, trialsCard);
      say(`Updated ${new Date().toLocaleTimeString()}`);
    } catch (error) { header.replaceChildren(problemBox(error)); }
  }
  await tick();
  every(REFRESH_MS, tick);
}

function renderSweep(s, trials, histories, header, scatter, curves, trialsCard) {
  const cancel = s.status !== "running" ? null : el("button", { type: "button", class: "secondary",
    onclick: async () => { try { await api(`/v1/sweeps/${s.id}/cancel`, { method: "POST" }); } catch (e) { say(e.message); } } }, "Cancel");
  const counts = Object.entries(s.counts).filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(", ");
  const best = s.best;
  fill(header, el("h1", {}, `Sweep ${s.id} `, badge(s.status)),
    el("p", { class: "muted" }, `${s.method} · ${s.metric.name} (${s.metric.goal}) · ${sweepDone(s)} of ${s.max_trials} trials done`,
      counts ? ` (${counts})` : "", ` · ${s.epochs_trained} epochs trained · created ${when(s.created_at)}`),
    best ? el("p", { id: "sweep-best" }, `Best: trial ${best.number}, ${s.metric.name} ${num(best.value)} · model `,
      link(`#/models/${best.model_id}`, best.model_id), " · ", el("code", {}, JSON.stringify(best.params))) : null, cancel);
  const space = s.config.space || {};
  fill(scatter, el("h2", {}, "Parameters vs " + s.metric.name),
    el("div", { class: "columns" }, Object.keys(space).map((path) => paramScatter(path, space[path], trials, s.metric.name))));
  fill(curves, el("h2", {}, `${s.metric.name} per epoch, every trial`), trialCurves(trials, histories, s.metric.name, best));
  fill(trialsCard, el("h2", {}, "Trials"), table(["#", "Status", s.metric.name, "Epochs", ...Object.keys(space), "Job"],
    trials.map((t) => el("tr", { "data-trial": t.number, "data-status": t.status }, el("td", {}, t.number), el("td", {}, badge(t.status)),
      el("td", {}, num(t.value)), el("td", {}, t.epochs), Object.keys(space).map((p) => el("td", {}, paramText(t.params[p]))),
      el("td", {}, link(`#/jobs/${t.job_id}`, t.job_id)))), "trials-table"));
}

function paramText(v) { return typeof v === "number" ? num(v) : JSON.stringify(v); }

// One dimension: x its value (log axis for log_uniform, one slot per choice), y the metric.
function paramScatter(path, dim, trials, metric) {
  const W = 360, H = 200, L = 50, R = 10, T = 10, B = 34;
  const pts = trials.filter((t) => typeof t.value === "number" && isFinite(t.value) && t.params[path] !== undefined);
  const root = svg("svg", { class: "sweep-scatter", viewBox: `0 0 ${W} ${H}`, role: "img", "data-param": path,
    "data-points": pts.length, "aria-label": `${path} against ${metric}` });
  const choice = dim.choice ? dim.choice.map((c) => JSON.stringify(c)) : null;
  const log = !!dim.log_uniform;
  const range = dim.uniform || dim.log_uniform || dim.int || [0, Math.max(choice ? choice.length - 1 : 1, 1)];
  const toX = (v) => (choice ? choice.indexOf(JSON.stringify(v)) : log ? Math.log10(v) : v);
  let [x0, x1] = choice ? [-0.5, choice.length - 0.5] : log ? range.map(Math.log10) : range;
  if (x1 - x0 < 1e-12) { x0 -= 0.5; x1 += 0.5; }
  const values = pts.map((t) => t.value);
  let lo = values.length ? Math.min(...values) : 0, hi = values.length ? Math.max(...values) : 1;
  if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
  const x = (v) => L + ((toX(v) - x0) / (x1 - x0)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  root.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#e2e8f0" }),
    svg("text", { x: L - 4, y: y(hi) + 4, "text-anchor": "end", class: "axis-label", "font-size": 10, fill: "#64748b" }, num(hi, 3)),
    svg("text", { x: L - 4, y: y(lo) + 4, "text-anchor": "end", class: "axis-label", "font-size": 10, fill: "#64748b" }, num(lo, 3)),
    svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", "font-size": 11, fill: "#64748b" }, path + (log ? " (log)" : "")));
  if (choice) choice.forEach((c, i) => root.append(svg("text", { x: x(JSON.parse(c)), y: H - B + 13, "text-anchor": "middle",
    "font-size": 10, fill: "#64748b" }, c.slice(0, 12))));
  for (const t of pts) {
    root.append(svg("circle", { cx: x(t.params[path]).toFixed(1), cy: y(t.value).toFixed(1), r: 4,
      fill: TRIAL_COLORS[t.status] || "#2563eb", "fill-opacity": 0.8 },
    svg("title", {}, `trial ${t.number} (${t.status}): ${paramText(t.params[path])} → ${num(t.value)}`)));
  }
  return root;
}

// Every trial's metric by epoch on one chart; pruned ones grey, the best one thick.
function trialCurves(trials, histories, metric, best) {
  const W = 720, H = 280, L = 56, R = 16, T = 12, B = 30;
  const lines = trials.map((t) => ({ t, rows: ((histories[t.job_id] || {}).rows || [])
    .filter((r) => typeof r[metric] === "number" && isFinite(r[metric])) })).filter((l) => l.rows.length);
  const root = svg("svg", { id: "sweep-curves", viewBox: `0 0 ${W} ${H}`, role: "img", "data-lines": lines.length,
    "aria-label": `${metric} per epoch of every trial` });
  if (!lines.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#64748b" }, "Waiting for the first epoch…"));
    return root;
  }
  const values = lines.flatMap((l) => l.rows.map((r) => r[metric]));
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
  const maxEpoch = Math.max(2, ...lines.map((l) => l.rows[l.rows.length - 1].epoch));
  const x = (e) => L + ((e - 1) / (maxEpoch - 1)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e2e8f0" }),
      svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#64748b" }, num(v, 3)));
  }
  root.append(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", "font-size": 11, fill: "#64748b" },
    `epoch (1–${maxEpoch})`));
  const isBest = (l) => best && l.t.number === best.number;
  for (const l of [...lines.filter((l) => !isBest(l)), ...lines.filter(isBest)]) {
    root.append(svg("polyline", { fill: "none", stroke: isBest(l) ? "#ea580c" : TRIAL_COLORS[l.t.status] || "#2563eb",
      "stroke-width": isBest(l) ? 3 : 1.5, "stroke-opacity": isBest(l) ? 1 : 0.6, "data-trial": l.t.number,
      points: l.rows.map((r) => `${x(r.epoch).toFixed(1)},${y(r[metric]).toFixed(1)}`).join(" ") },
    svg("title", {}, `trial ${l.t.number} (${l.t.status})`)));
  }
  return root;
}
