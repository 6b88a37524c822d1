// The Descent dashboard: hash routes over the /v1 API, no framework, no build step.
//   #/                 jobs (auto-refresh)          #/jobs/ID     a job: live loss curves, spec
//   #/models           models                       #/models/ID   a model: metrics, predict form,
//                                                                 reports (report.js)
//   #/datasets         datasets                     #/datasets/ID a dataset: its columns, targets
//   #/upload           upload a CSV / .npz (upload.js)
//   #/new?dataset=ID   design and start a job; ?from=JOB trains again with changes (design.js)
//   #/compare?jobs=A,B several jobs' curves in one chart (compare.js)
// Another script adds a page with addPage(name, render) and a link in index.html's nav.
// The API key is asked once and kept in localStorage; "#…?key=K" (or "#key=K") stores it too,
// so a link can sign a browser in. EventSource cannot send an Authorization header, so live
// views poll with fetch: the job, and its history with ?after=<last epoch>.
"use strict";

const KEY_STORE = "descent.apiKey";
const REFRESH_MS = 2000;
const LIVE_MS = 1000;
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

const view = document.getElementById("view");
const statusLine = document.getElementById("status-line");
let timers = [];
let routeToken = 0;

// --- small helpers ----------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children.flat(Infinity)) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A row of probabilities in the classes' order: a list, or {label: p} (multilabel).
function perClass(row, classes) {
  return Array.isArray(row) ? row : classes.map((c) => row[c]);
}

function num(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e4 || Math.abs(value) < 1e-3 ? value.toExponential(2)
    : value.toPrecision(digits);
}

// replaceChildren() would print null as "null": drop empty children first.
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
}

function when(ts) { return ts ? ts.replace("T", " ").slice(0, 19) : "–"; }
function badge(status) { return el("span", { class: `badge ${status}` }, status); }
function link(href, text) { return el("a", { href }, text); }
function every(ms, fn) { timers.push(setInterval(fn, ms)); }
function say(text) { statusLine.textContent = text; }

// --- the API key and requests -----------------------------------------------------------------

function apiKey() { return localStorage.getItem(KEY_STORE); }

class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem.detail ? `: ${problem.detail}` : "";
    super(`${status} ${problem.title || "Error"}${detail}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${apiKey()}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    localStorage.removeItem(KEY_STORE);
    route();
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function problemBox(error) {
  const items = (error.problem && error.problem.errors) || [];
  return el("div", { class: "problem", role: "alert" }, error.message,
    items.length ? el("ul", {}, items.map((e) => el("li", {}, `${(e.loc || []).join(".")}: ${e.msg}`))) : null);
}

// --- routing ----------------------------------------------------------------------------------

// The path's first part → render(parts, params, token). Scripts loaded after this one may add to
// it: the first route runs at DOMContentLoaded, once every deferred script has run.
const PAGES = {
  jobs: (parts, params, token) => (parts[1] ? showJob(parts[1], token) : showJobs(token)),
  models: (parts) => (parts[1] ? showModel(parts[1]) : showModels()),
  datasets: (parts) => (parts[1] ? showDataset(parts[1]) : showDatasets()),
  upload: () => showUpload(),
  new: (parts, params, token) => showNewJob(params, token),
  compare: (parts, params, token) => showCompare(params, token),
};

function addPage(name, render) { PAGES[name] = render; }

function takeKeyFromHash() {
  const hash = location.hash.slice(1);
  const [path, query] = hash.startsWith("key=") ? ["/", hash] : hash.split("?", 2);
  const params = new URLSearchParams(query || "");
  const key = params.get("key");
  if (key) {
    localStorage.setItem(KEY_STORE, key);
    params.delete("key");
    const rest = params.toString();
    history.replaceState(null, "", `#${path || "/"}${rest ? `?${rest}` : ""}`);
  }
  return [path || "/", params];
}

function route() {
  timers.forEach(clearInterval);
  timers = [];
  const token = ++routeToken;
  const [path, params] = takeKeyFromHash();
  document.getElementById("sign-out").hidden = !apiKey();
  view.replaceChildren();
  if (!apiKey()) return showLogin();
  const parts = path.split("/").filter(Boolean);
  const render = PAGES[parts[0] || "jobs"];
  document.querySelectorAll(".top nav a").forEach((a) => {
    if (a.getAttribute("href") === `#/${parts[0] || ""}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  if (render) render(parts, params, token);
  else view.append(el("p", {}, "No such page. ", link("#/", "Jobs")));
}

function showLogin() {
  const input = el("input", { type: "password", id: "api-key", autocomplete: "off", required: true,
    placeholder: "your API key", "aria-label": "API key" });
  const form = el("form", { class: "card login", onsubmit: (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORE, input.value.trim());
    route();
  } }, el("h1", {}, "Sign in"),
  el("p", { class: "muted" }, "Paste an API key (", el("code", {}, "descent keys create"),
    " makes one). It stays in this browser only."),
  input, el("button", { type: "submit" }, "Continue"));
  view.append(form);
  input.focus();
}

// --- lists ------------------------------------------------------------------------------------

function table(headers, rows, id) {
  return el("table", { id, class: "list" },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: headers.length,
      class: "muted" }, "Nothing yet."))));
}

// What a job's bar and words say: a job that stopped early is done (a full bar), not 80/3000.
function progressOf(job) {
  const p = job.progress || {};
  const epochs = p.epochs || 0;
  const epoch = p.epoch || 0;
  const best = job.best_epoch ? ` (best ${job.best_epoch})` : "";
  if (!epochs) return { value: 0, max: 0, text: job.status === "succeeded" ? "done" : job.status }; // no epochs: a predict job
  if (job.status === "succeeded" && epochs && epoch < epochs) {
    return { value: epochs, max: epochs, text: `stopped early at epoch ${epoch} of ${epochs}${best}` };
  }
  if (job.status === "succeeded") return { value: epochs, max: epochs, text: `${epoch} of ${epochs || "?"} epochs${best}` };
  if (job.status === "cancelled") return { value: epoch, max: epochs, text: `cancelled after epoch ${epoch} of ${epochs || "?"}` };
  if (job.status === "failed") return { value: epoch, max: epochs, text: `failed at epoch ${epoch} of ${epochs || "?"}` };
  if (job.status === "queued") return { value: 0, max: epochs, text: "queued" };
  return { value: Math.min(epoch, epochs), max: epochs, text: `epoch ${epoch} of ${epochs || "?"}` };
}

function progressBar(job, id) {
  const p = progressOf(job);
  return p.max ? el("progress", { id, max: p.max, value: p.value, "aria-label": `progress of ${job.id}: ${p.text}` }) : null;
}

function progressCell(job) {
  return el("td", { class: "progress" }, progressBar(job), ` ${progressOf(job).text}`);
}

// A next step for each error code (the message itself says what happened).
const ERROR_HINTS = {
  DIVERGED: "Change what the message names (most often: a lower learning rate), then train again with changes.",
  INVALID_INPUT: "The data or the spec does not fit: fix the field the message names and train again.",
  RESOURCE_LIMIT: "Use a smaller network, fewer epochs or a larger batch, or ask for a larger budget.",
  WORKER_LOST: "Workers stopped during every attempt: look at the workers' logs, then train again.",
  INTERNAL: "An error of ours: train again, and report it with the job id if it repeats.",
};

// Jobs picked for comparison, kept across the list's refreshes.
const picked = new Set();

async function showJobs(token) {
  const compare = el("button", { type: "button", id: "compare-selected", onclick: () => {
    location.hash = `#/compare?jobs=${[...picked].join(",")}`;
  } });
  const showPicked = () => {
    compare.textContent = `Compare selected (${picked.size})`;
    compare.disabled = picked.size < 2;
  };
  showPicked();
  const section = el("section", {}, el("h1", {}, "Jobs"),
    el("div", { class: "toolbar" }, link("#/upload", "Upload a dataset"), link("#/new", "New training job"), compare));
  const holder = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  section.append(holder);
  view.append(section);
  let shown = "";
  async function refresh() {
    try {
      const page = await api("/v1/jobs?limit=50");
      if (token !== routeToken) return;
      // Redraw only on change, and give the focus back: a keyboard user keeps their place.
      const signature = JSON.stringify(page.data);
      if (signature === shown) return;
      shown = signature;
      const active = document.activeElement;
      const cell = holder.contains(active) ? active.closest("td") : null;
      const place = cell ? [cell.parentElement.dataset.jobId, cell.cellIndex] : null;
      const rows = page.data.map((job) => el("tr", { "data-job-id": job.id, "data-status": job.status },
        el("td", {}, job.kind === "train" ? el("input", { type: "checkbox", id: `pick-${job.id}`, checked: picked.has(job.id),
          "aria-label": `compare ${job.id}`, onchange: (e) => {
            if (e.target.checked) picked.add(job.id); else picked.delete(job.id);
            showPicked();
          } }) : null),
        el("td", {}, link(`#/jobs/${job.id}`, job.id)), el("td", {}, job.kind), el("td", {}, badge(job.status)),
        progressCell(job), el("td", {}, num((job.metrics || {}).loss)),
        el("td", {}, num((job.metrics || {}).val_loss)),
        el("td", {}, job.model_id ? link(`#/models/${job.model_id}`, job.model_id) : (job.prediction_id || "–")),
        el("td", {}, when(job.created_at))));
      holder.replaceChildren(table(["Compare", "Job", "Kind", "Status", "Progress", "Loss", "Val loss", "Result",
        "Created"], rows, "jobs-table"));
      const row = place && holder.querySelector(`tr[data-job-id="${place[0]}"]`);
      const again = row && row.cells[place[1]].querySelector("a, input");
      if (again) again.focus();
      say(`Updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      holder.replaceChildren(problemBox(error));
    }
  }
  await refresh();
  every(REFRESH_MS, refresh);
}

async function showModels() {
  view.append(el("h1", {}, "Models"));
  try {
    const page = await api("/v1/models?limit=100");
    view.append(table(["Model", "Task", "Features", "Epochs", "Val loss", "Job", "Created"],
      page.data.map((m) => el("tr", {}, el("td", {}, link(`#/models/${m.id}`, m.id)), el("td", {}, m.task),
        el("td", {}, m.n_features), el("td", {}, m.epochs_trained),
        el("td", {}, num((m.metrics || {}).val_loss)), el("td", {}, link(`#/jobs/${m.job_id}`, m.job_id)),
        el("td", {}, when(m.created_at)))), "models-table"));
  } catch (error) { view.append(problemBox(error)); }
}

async function showDatasets() {
  view.append(el("h1", {}, "Datasets"));
  try {
    const page = await api("/v1/datasets?limit=100");
    view.append(table(["Dataset", "Name", "Rows", "Features", "Targets", "Kind", "Created"],
      page.data.map((d) => el("tr", {}, el("td", {}, link(`#/datasets/${d.id}`, d.id)), el("td", {}, d.name || "–"),
        el("td", {}, d.n_rows), el("td", {}, d.n_features), el("td", {}, d.n_targets),
        el("td", {}, d.target_kind || "–"), el("td", {}, when(d.created_at)))), "datasets-table"));
  } catch (error) { view.append(problemBox(error)); }
}

// A dataset: what it holds and each feature column's kind, missing cells and categories.
async function showDataset(id) {
  view.append(el("p", {}, link("#/datasets", "← Datasets")));
  let d;
  try { d = await api(`/v1/datasets/${id}`); } catch (error) { view.append(problemBox(error)); return; }
  const columns = d.columns || [];
  const classes = d.classes ? ` · classes: ${d.classes.slice(0, 20).join(", ")}${d.classes.length > 20 ? ", …" : ""}` : "";
  view.append(el("h1", {}, `Dataset ${d.name ? `${d.name} ` : ""}`, el("code", {}, d.id)),
    el("p", { class: "muted" }, `${d.n_rows} rows · ${d.n_features} feature columns · `,
      d.n_targets ? `target ${(d.target_names || []).join(", ") || "y"} (${d.target_kind})` : "no targets",
      classes, ` · uploaded ${when(d.created_at)}`),
    el("h2", {}, "Columns"),
    table(["Column", "Kind", "Missing", "Categories"], columns.map((c) => el("tr", {
      "data-column": c.name, "data-kind": c.kind, "data-missing": c.missing },
    el("td", {}, el("code", {}, c.name)), el("td", {}, el("span", { class: `kind ${c.kind}` }, c.kind)),
    el("td", { class: c.missing ? "" : "muted" }, c.missing ? `${c.missing} (${num(100 * c.missing / d.n_rows, 3)}%)` : "0"),
    el("td", {}, c.categories === null || c.categories === undefined ? "–" : c.categories))), "columns-table"));
  if (d.n_targets) {
    view.append(el("div", { class: "toolbar" }, el("a", { href: `#/new?dataset=${d.id}`, class: "button", id: "train-on-dataset" },
      "Train a model on this dataset")));
    view.append(await targetsCard(d.id));
  }
  view.append(await trainedOn(d.id));
}

// The dataset's latest train jobs and their models: dataset → job → model, as a model links back.
async function trainedOn(datasetId) {
  const card = el("div", { class: "card", id: "dataset-jobs" }, el("h2", {}, "Trained on it"));
  try {
    const jobs = (await api("/v1/jobs?limit=200")).data.filter((j) => j.dataset_id === datasetId && j.kind === "train");
    card.append(jobs.length ? table(["Job", "Status", "Progress", "Val loss", "Model"], jobs.map((j) => el("tr", {},
      el("td", {}, link(`#/jobs/${j.id}`, j.id)), el("td", {}, badge(j.status)), progressCell(j),
      el("td", {}, num((j.metrics || {}).val_loss)),
      el("td", {}, j.model_id ? link(`#/models/${j.model_id}`, j.model_id) : "–"))), "dataset-jobs-table")
      : el("p", { class: "muted" }, "No job among the latest 200 trained on it."));
  } catch (error) { card.append(problemBox(error)); }
  return card;
}

// --- a job: live loss curves -------------------------------------------------------------------

function metricsList(metrics) {
  const entries = Object.entries(metrics || {});
  if (!entries.length) return el("p", { class: "muted" }, "No metrics yet.");
  return el("dl", { class: "metrics" }, entries.map(([k, v]) => [el("dt", {}, k), el("dd", {}, num(v))]));
}

async function showJob(id, token) {
  const header = el("div", { class: "job-head" });
  const chart = el("div", { class: "card" });
  const layers = el("div", { class: "card", id: "layers-panel" });
  const details = el("div", { class: "columns" });
  view.append(el("p", {}, link("#/", "← Jobs")), header, chart, layers, details);
  const rows = [];
  let job = null;
  let busy = false;
  async function tick() {
    if (busy) return;
    busy = true;
    try {
      job = await api(`/v1/jobs/${id}`);
      const after = rows.length ? rows[rows.length - 1].epoch : 0;
      const history = await api(`/v1/jobs/${id}/history?after=${after}&diagnostics=true`);
      if (token !== routeToken) return;
      for (const row of history.data) if (!rows.length || row.epoch > rows[rows.length - 1].epoch) rows.push(row);
      renderJob(job, rows, header, chart, details);
      fill(layers, layersPanel(job, rows));
      if (FINAL.has(job.status)) { timers.forEach(clearInterval); timers = []; }
      say(`Updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      header.replaceChildren(problemBox(error));
    } finally { busy = false; }
  }
  await tick();
  if (job && !FINAL.has(job.status)) every(LIVE_MS, tick);
}

function renderJob(job, rows, header, chart, details) {
  const p = job.progress || {};
  const focused = document.activeElement && document.activeElement.id;
  const cancel = FINAL.has(job.status) ? null : el("button", { type: "button", class: "secondary", id: "cancel-job",
    onclick: async () => { try { await api(`/v1/jobs/${job.id}/cancel`, { method: "POST" }); } catch (e) { say(e.message); } } },
  job.cancel_requested ? "Cancelling…" : "Cancel");
  const again = job.kind === "train" ? el("a", { href: `#/new?from=${job.id}`, id: "train-again", class: "button secondary" }, "Train again with changes") : null;
  fill(header, el("h1", {}, `Job ${job.id} `, badge(job.status)),
    el("p", { class: "job-progress" }, progressBar(job, "job-progress-bar"),
      el("span", { id: "job-state", "data-epoch": p.epoch || 0, "data-epochs": p.epochs || 0 }, ` ${progressOf(job).text}`)),
    el("p", { class: "muted" }, `attempt ${job.attempts}/${job.max_attempts} · created ${when(job.created_at)}`,
      job.finished_at ? ` · finished ${when(job.finished_at)}` : "",
      job.dataset_id ? [" · dataset ", link(`#/datasets/${job.dataset_id}`, job.dataset_id)] : null,
      job.model_id ? [" · model ", link(`#/models/${job.model_id}`, job.model_id)] : null),
    job.error ? el("div", { class: "problem", id: "job-error", role: "alert" }, el("strong", {}, job.error.code), `: ${job.error.message}`,
      ERROR_HINTS[job.error.code] ? el("p", { class: "hint" }, ERROR_HINTS[job.error.code]) : null) : null,
    el("div", { class: "toolbar" }, cancel, again));
  fill(chart, el("h2", {}, "Loss"), lossChart(rows));
  fill(details, el("div", { class: "card" }, el("h2", {}, "Latest metrics"), metricsList(job.metrics)),
    el("div", { class: "card" }, el("h2", {}, "Spec"), el("pre", { id: "job-spec", tabindex: 0, "aria-label": "the job's spec" }, JSON.stringify(job.spec, null, 2))));
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

function lossChart(rows) {
  const W = 720, H = 300, L = 56, R = 16, T = 14, B = 36;
  const series = [["loss", "training loss", "line-loss"], ["val_loss", "validation loss", "line-val"]];
  const values = rows.flatMap((r) => series.map(([k]) => r[k])).filter((v) => typeof v === "number" && isFinite(v));
  const root = svg("svg", { id: "loss-chart", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "training and validation loss per epoch", "data-points": rows.length,
    "data-last-epoch": rows.length ? rows[rows.length - 1].epoch : 0 });
  if (!values.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "axis-label" }, "Waiting for the first epoch…"));
    return root;
  }
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
  const pad = (hi - lo) * 0.05;
  lo = lo >= 0 ? Math.max(0, lo - pad) : lo - pad;
  hi += pad;
  // The x axis spans the epochs trained so far: a 10 000-epoch job is readable at epoch 20.
  const maxEpoch = Math.max(rows[rows.length - 1].epoch, 2);
  const x = (e) => L + ((e - 1) / (maxEpoch - 1)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis-label" }, num(v, 3)));
  }
  const ticks = Math.min(maxEpoch, 6);
  for (let i = 0; i < ticks; i++) {
    const e = Math.round(1 + ((maxEpoch - 1) * i) / (ticks - 1));
    root.append(svg("text", { x: x(e), y: H - B + 16, "text-anchor": "middle", class: "axis-label" }, e));
  }
  root.append(svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", class: "axis-label" }, "epoch"));
  series.forEach(([key, label, cls], i) => {
    const pts = rows.filter((r) => typeof r[key] === "number" && isFinite(r[key]));
    if (!pts.length) return;
    root.append(svg("polyline", { class: cls, "data-series": key, "data-points": pts.length,
      points: pts.map((r) => `${x(r.epoch).toFixed(1)},${y(r[key]).toFixed(1)}`).join(" ") }));
    if (pts.length === 1) root.append(svg("circle", { class: cls, cx: x(pts[0].epoch), cy: y(pts[0][key]), r: 3 }));
    root.append(svg("line", { x1: W - R - 150, x2: W - R - 130, y1: T + 10 + i * 18, y2: T + 10 + i * 18, class: cls }),
      svg("text", { x: W - R - 124, y: T + 14 + i * 18, class: "legend" }, label));
  });
  return root;
}

// --- a model: metrics and a predict form --------------------------------------------------------

async function showModel(id) {
  view.append(el("p", {}, link("#/models", "← Models")));
  let model;
  try { model = await api(`/v1/models/${id}`); } catch (error) { view.append(problemBox(error)); return; }
  const output = el("div", { id: "predict-output" });
  // Models with named columns take a record by name. Older models, and numeric models trained
  // without column names (x0, x1, …: the names say nothing), take positional rows of numbers.
  const columns = model.columns || [];
  const unnamed = columns.every((c, i) => c.name === `x${i}` && c.kind === "numeric");
  const byName = columns.length > 0 && !unnamed;
  const fields = byName ? columnFields(columns) : rowField(model);
  async function submit(event) {
    event.preventDefault();
    try {
      const result = await api(`/v1/models/${id}/predict`, { method: "POST", body: { inputs: fields.read() } });
      const classes = model.classes || [];
      output.replaceChildren(table(["Row", "Prediction", ...(result.probabilities ? classes.map((c) => `p(${c})`) : [])],
        result.predictions.map((p, i) => el("tr", {}, el("td", {}, i + 1), el("td", { class: "prediction" }, Array.isArray(p) ? p.map((v) => num(v)).join(", ") : num(p)),
          (result.probabilities ? perClass(result.probabilities[i], classes) : []).map((v) => el("td", {}, num(v, 3))))), "predict-table"));
    } catch (error) { output.replaceChildren(problemBox(error)); }
  }
  view.append(el("h1", {}, `Model ${model.id}`),
    el("p", { class: "muted" }, `${model.task} · ${byName ? columns.length : model.n_features} ${byName ? "columns" : "features"} · ${model.epochs_trained} epochs · job `,
      link(`#/jobs/${model.job_id}`, model.job_id),
      model.dataset_id ? [" · dataset ", link(`#/datasets/${model.dataset_id}`, model.dataset_id)] : null),
    el("div", { class: "card", id: "downloads" }, el("h2", {}, "Download"),
      el("div", { class: "toolbar" }, downloadButton(`/v1/models/${id}/weights`, `${id}.npz`, "Weights (.npz)", "download-weights"),
        downloadButton(`/v1/models/${id}/onnx`, `${id}.onnx`, "ONNX", "download-onnx"),
        link(`#/new?from=${model.job_id}`, "Train again with changes")),
      el("p", { class: "muted" }, "The .npz holds W0, b0, … and the fitted preprocessing; the ONNX graph predicts as /predict does.")),
    el("div", { class: "columns" },
      el("div", { class: "card" }, el("h2", {}, "Final metrics"), metricsList(model.metrics),
        model.classes ? el("p", { class: "muted" }, `classes: ${model.classes.join(", ")}`) : null),
      el("form", { class: "card", id: "predict-form", onsubmit: submit }, el("h2", {}, "Predict"),
        fields.node, el("button", { type: "submit" }, "Predict"), output)),
    el("div", { class: "card", id: "validation-report" }, el("h2", {}, "Validation report"), reportView(model.evaluation)));
  view.append(await evaluationsCard(id));
}

// A file behind the API key: a plain link cannot send the Authorization header, so fetch it and
// hand the browser the bytes as a download.
function downloadButton(path, filename, label, id) {
  return el("button", { type: "button", class: "secondary", id, onclick: async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const response = await fetch(path, { headers: { Authorization: `Bearer ${apiKey()}` } });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
      const url = URL.createObjectURL(await response.blob());
      const a = el("a", { href: url, download: filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      say(`Downloaded ${filename}`);
    } catch (error) { say(error.message); } finally { button.disabled = false; }
  } }, label);
}

// One input per column, labelled with its name and kind; a blank is a missing cell (null), which
// the model fills as it was trained to. Categorical inputs suggest the categories seen in training.
function columnFields(columns) {
  const inputs = columns.map((c, i) => {
    const listId = `predict-categories-${i}`;
    const input = el("input", { type: "text", id: `predict-col-${i}`, name: c.name, "data-column": c.name,
      "data-kind": c.kind, autocomplete: "off", inputmode: c.kind === "numeric" ? "decimal" : null,
      list: c.categories ? listId : null, placeholder: c.kind === "numeric" ? "a number, or blank" : "a category, or blank" });
    return [c, input, c.categories ? el("datalist", { id: listId }, c.categories.map((v) => el("option", { value: v }))) : null];
  });
  const node = el("div", { class: "fields", id: "predict-fields" },
    el("p", { class: "muted" }, "Values by column name; leave a cell blank when it is missing."),
    inputs.map(([c, input, list]) => el("label", { for: input.id },
      el("span", {}, el("code", {}, c.name), " ", el("span", { class: `kind ${c.kind}` }, c.kind)), input, list)));
  function read() {
    const record = {};
    for (const [c, input] of inputs) {
      const text = input.value.trim();
      // A text that is not a number goes as typed: the server's answer names the column.
      record[c.name] = text === "" ? null : (c.kind === "numeric" && text !== "" && isFinite(Number(text)) ? Number(text) : text);
    }
    return [record];
  }
  return { node, read };
}

function rowField(model) {
  const input = el("textarea", { id: "predict-input", rows: 3, spellcheck: "false",
    placeholder: `${model.n_features} numbers per line, separated by commas or spaces` });
  const node = el("div", {}, el("label", { for: "predict-input" }, "Rows of feature values"), input);
  const read = () => input.value.trim().split(/\n+/).map((line) => line.trim().split(/[\s,;]+/).map(Number));
  return { node, read };
}

// --- start ----------------------------------------------------------------------------------------

document.getElementById("sign-out").addEventListener("click", () => {
  localStorage.removeItem(KEY_STORE);
  route();
});
window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);
