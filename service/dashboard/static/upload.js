// The upload page (#/upload) and the dataset page's target chart. A CSV is read in the browser
// first: its first rows, each column's kind by the server's rule (a column whose non-empty cells
// are all numbers is numeric, any other categorical; an empty cell is missing) and its missing
// cells, so the target and the kinds are chosen before anything is sent. The file then goes as
// the multipart upload of docs/api.md, with its progress shown (XMLHttpRequest reports upload
// progress; fetch does not). An .npz (arrays X and y) is previewed by npz.js: X's columns
// x0, x1, … with their NaN cells, and y.
// Loaded before app.js, whose el/svg/num/table helpers it uses when called.
"use strict";

const PREVIEW_ROWS = 8;
// A file may be very wide (8 MB of commas is 8 million columns): the preview profiles and shows
// the first PREVIEW_COLUMNS (their kinds may be overridden; the others keep the detected kind)
// and offers at most LISTED_COLUMNS as the target (the server's default column limit, the last
// column always among them), so no file builds more than that many elements.
const PREVIEW_COLUMNS = 50;
const LISTED_COLUMNS = 10000;
const SCAN_BYTES = 8 << 20; // kinds and missing counts are read from at most this much text
const NUMBER = /^[+-]?(\d[\d_]*\.?\d*|\.\d+)(e[+-]?\d+)?$|^[+-]?(nan|inf|infinity)$/i;

// RFC 4180: quoted cells may hold commas, quotes ("") and line breaks. At most maxRows rows.
function parseCsv(text, maxRows) {
  const rows = [];
  let row = [], cell = "", quoted = false, i = 0;
  while (i < text.length && rows.length < maxRows) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (c === '"') quoted = false; else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); cell = "";
      if (row.length > 1 || row[0].trim() !== "") rows.push(row);
      row = [];
    } else cell += c;
    i++;
  }
  if ((cell !== "" || row.length) && rows.length < maxRows) { row.push(cell); rows.push(row); }
  return rows;
}

// Each column's {name, kind, missing, distinct} over the rows read.
function profileColumns(header, rows) {
  return header.map((name, j) => {
    let missing = 0, numeric = true;
    const seen = new Set();
    for (const row of rows) {
      const cell = (row[j] ?? "").trim();
      if (cell === "") { missing++; continue; }
      if (numeric && !NUMBER.test(cell)) numeric = false;
      if (seen.size <= 1000) seen.add(cell);
    }
    return { name: name.trim(), kind: numeric ? "numeric" : "categorical", missing, distinct: seen.size };
  });
}

function showUpload() {
  const state = { file: null, columns: [] };
  const input = el("input", { type: "file", id: "upload-file", accept: ".csv,.npz,text/csv", class: "visually-hidden" });
  const drop = el("label", { for: "upload-file", class: "dropzone", id: "dropzone" },
    el("strong", {}, "Drop a CSV or an .npz here"), el("span", { class: "muted" }, " or press to choose a file"));
  const preview = el("div", { id: "upload-preview" });
  const name = el("input", { type: "text", id: "upload-name", autocomplete: "off", maxlength: 200 });
  const target = el("select", { id: "upload-target" });
  const targetKind = el("select", { id: "upload-target-kind" },
    el("option", { value: "" }, "guess (whole numbers and text are labels)"),
    el("option", { value: "labels" }, "labels (classification)"), el("option", { value: "values" }, "values (regression)"));
  const progress = el("progress", { id: "upload-progress", max: 100, value: 0, hidden: true, "aria-label": "upload progress" });
  const output = el("div", { id: "upload-output", role: "status" });
  const submit = el("button", { type: "submit", id: "upload-submit", disabled: true }, "Upload");
  const settings = el("div", { class: "fields", id: "upload-settings", hidden: true },
    el("label", { for: "upload-name" }, "Name (optional)"), name,
    el("label", { for: "upload-target" }, "Target column"), target,
    el("label", { for: "upload-target-kind" }, "Target kind"), targetKind);

  async function choose(file) {
    state.file = file;
    output.replaceChildren();
    name.value = file.name.replace(/\.(csv|npz)$/i, "");
    settings.hidden = false;
    submit.disabled = false;
    if (/\.npz$/i.test(file.name)) {
      state.columns = [];
      state.kinds = [];
      target.replaceChildren(el("option", { value: "" }, "y (the .npz's array)"));
      try {
        previewNpz(await readNpzArrays(file));
      } catch (error) {
        preview.replaceChildren(el("p", { class: "muted" }, `${file.name}: ${num(file.size)} bytes; ${error.message}.`));
      }
      return;
    }
    const text = await file.slice(0, SCAN_BYTES).text();
    const rows = parseCsv(text, Infinity);
    // A cut at SCAN_BYTES may split the last row: leave it out of the counts.
    const body = rows.slice(1, file.size > SCAN_BYTES ? -1 : undefined);
    const header = rows[0] || [];
    state.width = header.length;
    state.columns = profileColumns(header.slice(0, PREVIEW_COLUMNS), body);
    const listed = (header.length > LISTED_COLUMNS
      ? [...header.slice(0, LISTED_COLUMNS - 1), header[header.length - 1]] : header).map((n) => n.trim());
    const options = listed.map((n) => el("option", { value: n }, n));
    target.replaceChildren(el("option", { value: "" }, "none (batch predictions only)"), ...options);
    target.value = listed.length ? listed[listed.length - 1] : "";
    renderPreview(body, file.size > SCAN_BYTES);
  }

  // An .npz: X's columns x0, x1, … (NaN = missing) and y, the target; kinds are not overridden.
  function previewNpz({ X, y }) {
    const width = Math.min(X.shape[1] || 1, PREVIEW_COLUMNS);
    const targets = y ? Math.min(y.shape[1] || 1, PREVIEW_COLUMNS) : 0;
    const names = [...Array.from({ length: width }, (_, j) => `x${j}`),
      ...Array.from({ length: targets }, (_, j) => (targets > 1 ? `y${j}` : "y"))];
    const shown = X.rows.slice(0, PREVIEW_ROWS);
    const head = el("thead", {}, el("tr", {}, names.map((n) => el("th", { scope: "col" }, n))),
      el("tr", { class: "profile" }, names.map((n, j) => (j < width
        ? el("td", { "data-column": n, "data-kind": "numeric", "data-missing": X.nan[j] }, "numeric",
          el("div", { class: X.nan[j] ? "missing" : "muted" }, `${X.nan[j]} missing`))
        : el("td", { "data-column": n, "data-kind": "target" }, "target")))));
    const cell = (v) => (typeof v === "number" ? (Number.isNaN(v) ? "(missing)" : num(v)) : String(v));
    const rows = shown.map((r, i) => el("tr", {}, r.slice(0, width).map((v) => el("td", {}, cell(v))),
      y && y.rows[i] ? y.rows[i].slice(0, targets).map((v) => el("td", {}, cell(v))) : null));
    preview.replaceChildren(el("p", { class: "muted" }, `X: ${X.shape.join(" × ")}`, y ? `, y: ${y.shape.join(" × ")}` : ", no y",
      `; missing cells counted in the first ${X.rows.length} rows${X.partial ? "" : " (all)"}; first ${shown.length} shown`,
      (X.shape[1] || 1) > width ? `, with X's first ${width} columns.` : "."),
    el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": "preview of the file" },
      el("table", { class: "list", id: "preview-table" }, head, el("tbody", {}, rows))));
  }

  function renderPreview(body, partial) {
    const kinds = state.columns.map((c, j) => el("select", { id: `kind-${j}`, "data-column": c.name,
      "aria-label": `kind of column ${c.name}` },
    el("option", { value: "" }, `${c.kind} (detected)`),
    el("option", { value: c.kind === "numeric" ? "categorical" : "numeric" }, c.kind === "numeric" ? "categorical" : "numeric")));
    state.kinds = kinds;
    const head = el("thead", {},
      el("tr", {}, state.columns.map((c) => el("th", { scope: "col" }, c.name))),
      el("tr", { class: "profile" }, state.columns.map((c, j) => el("td", { "data-column": c.name, "data-kind": c.kind,
        "data-missing": c.missing }, kinds[j], el("div", { class: c.missing ? "missing" : "muted" }, `${c.missing} missing`)))));
    const rows = body.slice(0, PREVIEW_ROWS).map((r) => el("tr", {}, state.columns.map((c, j) => {
      const cell = (r[j] ?? "").trim();
      return el("td", { class: cell === "" ? "muted" : "" }, cell === "" ? "(blank)" : cell);
    })));
    const wide = state.width > state.columns.length
      ? ` (the first ${state.columns.length} shown; the others keep their detected kind)` : "";
    preview.replaceChildren(el("p", { class: "muted" }, `${body.length} rows${partial ? " in the first 8 MB" : ""}, `,
      `${state.width} columns${wide}; first ${Math.min(PREVIEW_ROWS, body.length)} rows shown.`),
    el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": "preview of the file" },
      el("table", { class: "list", id: "preview-table" }, head, el("tbody", {}, rows))));
  }

  function send(event) {
    event.preventDefault();
    if (!state.file) return;
    const form = new FormData();
    form.append("file", state.file);
    if (name.value.trim()) form.append("name", name.value.trim());
    if (target.value) form.append("target", target.value);
    if (targetKind.value) form.append("target_kind", targetKind.value);
    const kinds = {};
    for (const select of state.kinds || []) {
      if (select.value && select.dataset.column !== target.value) kinds[select.dataset.column] = select.value;
    }
    if (Object.keys(kinds).length) form.append("column_kinds", JSON.stringify(kinds));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/datasets");
    xhr.setRequestHeader("Authorization", `Bearer ${apiKey()}`);
    xhr.setRequestHeader("Accept", "application/json");
    progress.hidden = false;
    progress.value = 0;
    submit.disabled = true;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
    xhr.onerror = () => { submit.disabled = false; output.replaceChildren(el("div", { class: "problem", role: "alert" }, "The upload failed: no answer.")); };
    xhr.onload = () => {
      submit.disabled = false;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: the status says enough */ }
      if (xhr.status >= 400) { output.replaceChildren(problemBox(new ApiError(xhr.status, body))); return; }
      progress.value = 100;
      location.hash = `#/datasets/${body.id}`;
    };
    xhr.send(form);
  }

  input.addEventListener("change", () => input.files[0] && choose(input.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) choose(e.dataTransfer.files[0]);
  });
  view.append(el("h1", {}, "Upload a dataset"),
    el("form", { class: "card", id: "upload-form", onsubmit: send }, input, drop, preview, settings, submit, progress, output));
}

// The dataset page's targets: a bar per class (its count) or a histogram of each value column.
async function targetsCard(datasetId) {
  const card = el("div", { class: "card", id: "targets-card" }, el("h2", {}, "Targets"));
  try {
    const { targets } = await api(`/v1/datasets/${datasetId}/targets`);
    if (!targets.length) card.append(el("p", { class: "muted" }, "No targets."));
    for (const t of targets.slice(0, 8)) card.append(targetChart(t));
  } catch (error) { card.append(problemBox(error)); }
  return card;
}

function targetChart(t) {
  const labels = t.kind === "labels"
    ? t.classes.map(String)
    : t.counts.map((_, i) => num(t.edges[i], 3));
  const shown = Math.min(labels.length, 40);
  const W = 720, H = 200, L = 56, B = 40, T = 18;
  const max = Math.max(1, ...t.counts);
  const bar = (W - L - 8) / shown;
  const title = t.kind === "labels" ? `${t.name}: class balance` : `${t.name}: histogram (min ${num(t.min)}, mean ${num(t.mean)}, max ${num(t.max)})`;
  const root = svg("svg", { class: "target-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title,
    "data-kind": t.kind, "data-bars": shown });
  root.append(svg("text", { x: L, y: 12, class: "axis-label" }, title));
  for (let i = 0; i < shown; i++) {
    const h = ((H - T - B) * t.counts[i]) / max;
    root.append(svg("rect", { x: L + i * bar + 1, y: H - B - h, width: Math.max(1, bar - 2), height: h, class: "bar",
      "data-count": t.counts[i] }, svg("title", {}, `${labels[i]}: ${t.counts[i]}`)));
    if (t.kind === "labels" || i % Math.ceil(shown / 8) === 0) {
      root.append(svg("text", { x: L + i * bar + bar / 2, y: H - B + 14, "text-anchor": "middle", class: "axis-label" },
        labels[i].slice(0, 10)));
    }
  }
  root.append(svg("text", { x: L - 6, y: T + 4, "text-anchor": "end", class: "axis-label" }, max),
    svg("text", { x: L - 6, y: H - B, "text-anchor": "end", class: "axis-label" }, 0));
  return root;
}
