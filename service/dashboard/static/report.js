// Evaluation reports on the model page (docs/api.md, "Evaluation reports"): headline numbers,
// the confusion matrix as a heat map (rows true, columns predicted, shade = the row's share so
// every class reads alike whatever its support) and the per-class table. Loaded before app.js,
// whose el/svg/num/table helpers it uses when called.
"use strict";

function reportView(report) {
  if (!report) return el("p", { class: "muted" }, "No report (trained without a validation part).");
  if (report.task === "classification") return classificationView(report);
  if (report.task === "regression") {
    return [headline(report, ["mae", "rmse", "r2"]),
      table(["Target", "MAE", "RMSE", "R²"], report.targets.map((t) => el("tr", {},
        el("td", {}, t.name), el("td", {}, num(t.mae)), el("td", {}, num(t.rmse)), el("td", {}, num(t.r2)))), "targets-table")];
  }
  return [headline(report, ["hamming_accuracy", "subset_accuracy", "micro_f1", "macro_f1"]),
    table(["Label", "Precision", "Recall", "F1", "Support"], (report.per_label || []).map((r) => el("tr", {},
      el("td", {}, String(r.label)), el("td", {}, num(r.precision)), el("td", {}, num(r.recall)),
      el("td", {}, num(r.f1)), el("td", {}, r.support))), "per-label-table")];
}

function headline(report, names) {
  return el("dl", { class: "metrics" }, el("dt", {}, "rows"), el("dd", {}, report.n_rows),
    names.map((k) => [el("dt", {}, k), el("dd", {}, num(report[k]))]));
}

function classificationView(report) {
  const rows = report.per_class.map((c) => el("tr", {}, el("td", {}, String(c.class)),
    el("td", {}, num(c.precision)), el("td", {}, num(c.recall)), el("td", {}, num(c.f1)), el("td", {}, c.support)));
  const total = report.per_class.reduce((s, c) => s + c.support, 0);
  for (const name of ["macro_avg", "weighted_avg"]) {
    const a = report[name];
    rows.push(el("tr", { class: "average" }, el("td", {}, name.replace("_", " ")), el("td", {}, num(a.precision)),
      el("td", {}, num(a.recall)), el("td", {}, num(a.f1)), el("td", {}, total)));
  }
  return [headline(report, ["accuracy", "balanced_accuracy", "log_loss", "roc_auc"]),
    el("div", { class: "columns" },
      el("div", {}, el("h2", {}, "Confusion matrix"), confusionHeatmap(report.classes.map(String), report.confusion_matrix)),
      el("div", {}, el("h2", {}, "Per class"), table(["Class", "Precision", "Recall", "F1", "Support"], rows, "per-class-table")))];
}

// An SVG grid: cell (i, j) counts rows of true class i predicted j, its blue the share of row i.
function confusionHeatmap(classes, matrix) {
  const k = classes.length, cell = Math.max(22, Math.min(56, Math.floor(420 / Math.max(k, 1))));
  const pad = 70, size = pad + k * cell + 10;
  const node = svg("svg", { class: "confusion", width: size, height: size, viewBox: `0 0 ${size} ${size}`, role: "img",
    "aria-label": "confusion matrix: rows true class, columns predicted class" });
  node.append(svg("text", { x: pad + (k * cell) / 2, y: 12, "text-anchor": "middle", class: "axis-label" }, "predicted"),
    svg("text", { x: 10, y: pad + (k * cell) / 2, "text-anchor": "middle", class: "axis-label",
      transform: `rotate(-90 10 ${pad + (k * cell) / 2})` }, "true"));
  classes.forEach((c, j) => node.append(svg("text", { x: pad + j * cell + cell / 2, y: pad - 8,
    "text-anchor": "middle", class: "axis-label" }, c.slice(0, 8))));
  matrix.forEach((row, i) => {
    const total = row.reduce((s, v) => s + v, 0);
    node.append(svg("text", { x: pad - 8, y: pad + i * cell + cell / 2 + 4, "text-anchor": "end", class: "axis-label" },
      classes[i].slice(0, 10)));
    row.forEach((v, j) => {
      const share = total ? v / total : 0;
      node.append(svg("rect", { x: pad + j * cell, y: pad + i * cell, width: cell - 1, height: cell - 1,
        fill: `rgba(37, 99, 235, ${(0.06 + 0.94 * share).toFixed(3)})`, "data-count": v, class: "cm-cell" },
        svg("title", {}, `true ${classes[i]}, predicted ${classes[j]}: ${v}`)),
      svg("text", { x: pad + j * cell + cell / 2, y: pad + i * cell + cell / 2 + 4, "text-anchor": "middle",
        class: share > 0.5 ? "cm-count dark" : "cm-count" }, v));
    });
  });
  return node;
}

// The model's stored evaluations on other datasets, newest first, each report folded.
async function evaluationsCard(modelId) {
  const card = el("div", { class: "card", id: "evaluations" }, el("h2", {}, "Evaluations on datasets"));
  try {
    const page = await api(`/v1/models/${modelId}/evaluations?limit=10`);
    if (!page.data.length) card.append(el("p", { class: "muted" }, "None yet: descent models evaluate MODEL DATASET."));
    for (const e of page.data) {
      card.append(el("details", {}, el("summary", {}, `${e.id} · dataset ${e.dataset_id || "–"} · ${e.n_rows} rows · ${e.status}`),
        e.report ? reportView(e.report) : el("p", { class: "muted" }, e.error ? e.error.message : "Not ready yet.")));
    }
  } catch (error) { card.append(problemBox(error)); }
  return card;
}
