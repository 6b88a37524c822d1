// The new-job page (#/new?dataset=ID, or ?from=JOB to train again with changes): a form for the
// network and its training, a live cost line from POST /v1/jobs/estimate as the form changes, and
// the server's 4xx message shown next to the field its `loc` names. Only settings that differ
// from docs/api.md's defaults are sent, so the server's own rules (no validation on a tiny
// dataset, the loss that goes with an output) still apply to the rest.
// Loaded before app.js, whose el/api/num helpers it uses when called.
"use strict";

const ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "identity"];
const OUTPUTS = ["identity", "sigmoid", "tanh", "relu", "softmax"];
const LOSSES = ["mse", "binary_cross_entropy", "cross_entropy"];
const OPTIMIZERS = { adam: 0.001, sgd: 0.01, momentum: 0.01, rmsprop: 0.001 };
const TASK_DEFAULTS = { classification: "softmax + cross_entropy", regression: "identity + mse",
  multilabel: "sigmoid + binary_cross_entropy" };
const TRAINING = { epochs: 50, batch_size: 32, validation_split: 0.1, patience: 10, seed: 0, weight_decay: 0 };
const DEFAULT_LAYERS = [{ units: 64, activation: "relu", dropout: 0 }, { units: 32, activation: "tanh", dropout: 0 }];
const ESTIMATE_DELAY_MS = 250;

function options(values, chosen, first) {
  return [first ? el("option", { value: "" }, first) : null,
    values.map((v) => el("option", { value: v, selected: v === chosen }, v))];
}

// A labelled field whose error slot the server's messages land in (data-field = its loc path).
function field(id, label, control, path, hint, wide) {
  control.id = id;
  control.dataset.field = path;
  const error = el("span", { class: "field-error", id: `${id}-error`, "data-error-for": path });
  control.setAttribute("aria-describedby", error.id);
  return el("div", { class: wide ? "field wide" : "field" }, el("label", { for: id }, label, hint ? el("span", { class: "muted" }, ` ${hint}`) : null),
    control, error);
}

function numberInput(value, attrs) { return el("input", { type: "number", value, ...attrs }); }

async function showNewJob(params, token) {
  let from = null;
  let datasets = [];
  try {
    [datasets, from] = await Promise.all([api("/v1/datasets?limit=200").then((p) => p.data),
      params.get("from") ? api(`/v1/jobs/${params.get("from")}`) : null]);
  } catch (error) { view.append(problemBox(error)); return; }
  if (token !== routeToken) return;
  const spec = (from && from.spec) || {};
  const net = spec.network || {};
  const tr = spec.training || {};
  const chosen = params.get("dataset") || (from && from.dataset_id) || (datasets[0] && datasets[0].id) || "";

  const dataset = el("select", {}, datasets.filter((d) => d.n_targets).map((d) => el("option", { value: d.id, selected: d.id === chosen },
    `${d.name || d.id} (${d.n_rows} rows, ${d.target_kind})`)));
  const task = el("select", {}, options(["classification", "regression", "multilabel"], spec.task, "from the dataset's targets"));
  const output = el("select", {}, options(OUTPUTS, net.output_activation, "default for the task"));
  const loss = el("select", {}, options(LOSSES, net.loss, "default for the task"));
  const defaults = el("p", { class: "muted", id: "task-defaults" });
  const layerList = el("ol", { class: "layers", id: "layer-list" });
  const layers = [];
  const epochs = numberInput(tr.epochs ?? TRAINING.epochs, { min: 1, step: 1 });
  const batch = numberInput(tr.batch_size ?? TRAINING.batch_size, { min: 1, step: 1 });
  const opt = (typeof tr.optimizer === "string" ? { name: tr.optimizer } : tr.optimizer) || { name: "adam" };
  const optimizer = el("select", {}, options(Object.keys(OPTIMIZERS), opt.name));
  const rate = numberInput(opt.learning_rate ?? "", { min: 0, step: "any", placeholder: String(OPTIMIZERS[opt.name]) });
  const split = numberInput(tr.validation_split === null ? 0 : (tr.validation_split ?? TRAINING.validation_split), { min: 0, max: 0.89, step: 0.05 });
  const stopping = el("input", { type: "checkbox", checked: tr.early_stopping !== null });
  const patience = numberInput((tr.early_stopping && tr.early_stopping.patience) ?? TRAINING.patience, { min: 1, step: 1 });
  const seed = numberInput(tr.seed ?? TRAINING.seed, { min: 0, step: 1 });
  const decay = numberInput(tr.weight_decay ?? TRAINING.weight_decay, { min: 0, step: "any" });
  const estimate = el("p", { id: "estimate", class: "estimate", role: "status", "aria-live": "polite" }, "…");
  const general = el("div", { id: "form-error", "data-error-for": "" });
  const submit = el("button", { type: "submit", id: "submit-job" }, "Start training");

  function addLayer(layer) {
    const i = layers.length;
    const units = numberInput(layer.units, { min: 1, step: 1, required: true });
    const activation = el("select", {}, options(ACTIVATIONS, layer.activation || "relu"));
    const dropout = numberInput(layer.dropout || 0, { min: 0, max: 0.95, step: 0.05 });
    const remove = el("button", { type: "button", class: "secondary", "aria-label": `remove layer ${i + 1}` }, "Remove");
    const row = el("li", { class: "layer", "data-layer": i + 1 },
      field(`layer-${i}-units`, `Layer ${i + 1} units`, units, `network.hidden_layers.${i}.units`),
      field(`layer-${i}-activation`, "activation", activation, `network.hidden_layers.${i}.activation`),
      field(`layer-${i}-dropout`, "dropout", dropout, `network.hidden_layers.${i}.dropout`, "(0 = off)"), remove);
    const entry = { units, activation, dropout, row };
    remove.addEventListener("click", () => {
      // Renumber by rebuilding: ids and error slots follow the layers' positions.
      const kept = layers.filter((l) => l !== entry).map(readLayer);
      layers.length = 0;
      layerList.replaceChildren();
      kept.forEach(addLayer);
      changed();
      (layers[Math.min(i, layers.length - 1)] || { units: addButton }).units.focus();
    });
    layers.push(entry);
    layerList.append(row);
  }
  const readLayer = (l) => ({ units: Number(l.units.value), activation: l.activation.value, dropout: Number(l.dropout.value) || 0 });
  const addButton = el("button", { type: "button", class: "secondary", id: "add-layer", onclick: () => {
    const last = layers.length ? readLayer(layers[layers.length - 1]) : { units: 32, activation: "relu", dropout: 0 };
    addLayer(last);
    layers[layers.length - 1].units.focus();
    changed();
  } }, "Add layer");
  (net.hidden_layers || DEFAULT_LAYERS).forEach(addLayer);

  // The source job's spec under the form's fields: what the form does not show (schedules,
  // class weights, preprocessing, dtype, …) trains again as it was. Its initial weights do not:
  // they fit only the network they were made for.
  const base = from ? JSON.parse(JSON.stringify(from.spec)) : {};
  if (base.network) delete base.network.initial_weights;

  function body() {
    const training = { ...(base.training || {}) };
    const network = { ...(base.network || {}),
      hidden_layers: layers.map(readLayer).map((l) => (l.dropout ? l : { units: l.units, activation: l.activation })) };
    for (const [key, select] of [["output_activation", output], ["loss", loss]]) {
      if (select.value) network[key] = select.value; else delete network[key];
    }
    const put = (key, input, fallback) => {
      delete training[key];
      if (input.value !== "" && Number(input.value) !== fallback) training[key] = Number(input.value);
    };
    put("epochs", epochs, TRAINING.epochs);
    put("batch_size", batch, TRAINING.batch_size);
    put("seed", seed, TRAINING.seed);
    put("weight_decay", decay, TRAINING.weight_decay);
    put("validation_split", split, TRAINING.validation_split);
    if (training.validation_split === 0) training.validation_split = null;
    const kept = typeof base.training?.optimizer === "object" && base.training.optimizer.name === optimizer.value
      ? { ...base.training.optimizer } : { name: optimizer.value };
    if (rate.value !== "") kept.learning_rate = Number(rate.value); else delete kept.learning_rate;
    delete training.optimizer;
    if (Object.keys(kept).length > 1 || kept.name !== "adam") training.optimizer = kept;
    const stops = base.training?.early_stopping || {};
    delete training.early_stopping;
    if (!stopping.checked) training.early_stopping = null;
    else if (Number(patience.value) !== TRAINING.patience || Object.keys(stops).length) {
      training.early_stopping = { ...stops, patience: Number(patience.value) };
    }
    const spec = { ...base, dataset_id: dataset.value, network, training };
    if (task.value) spec.task = task.value; else delete spec.task;
    return spec;
  }

  function showErrors(error) {
    const slots = [...form.querySelectorAll("[data-error-for]")];
    slots.forEach((s) => s.replaceChildren());
    form.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
    if (!error) return;
    const items = (error.problem && error.problem.errors) || [];
    const elsewhere = []; // errors at a field the form does not show (a spec "Train again" kept)
    for (const item of items) {
      const path = (item.loc || []).filter((p) => p !== "body").join(".");
      // The field itself, else its nearest named parent (training.optimizer.beta1 → training.optimizer).
      const slot = slots.filter((s) => s.dataset.errorFor && (path === s.dataset.errorFor || path.startsWith(`${s.dataset.errorFor}.`)))
        .sort((a, b) => b.dataset.errorFor.length - a.dataset.errorFor.length)[0];
      if (!slot) { elsewhere.push(item); continue; }
      slot.append(item.msg, " ");
      const control = form.querySelector(`[data-field="${slot.dataset.errorFor}"]`);
      if (control) control.setAttribute("aria-invalid", "true");
    }
    if (!items.length) general.replaceChildren(problemBox(error));
    else if (elsewhere.length) general.replaceChildren(problemBox({ message: error.message, problem: { errors: elsewhere } }));
  }

  let timer = null;
  let asked = 0;
  function changed() {
    const kind = (datasets.find((d) => d.id === dataset.value) || {}).target_kind;
    const implied = task.value || { labels: "classification", values: "regression" }[kind];
    defaults.textContent = `Output and loss by default: ${TASK_DEFAULTS[implied] || "from the task"}${task.value ? "" : ` (the ${implied} its ${kind} imply)`}.`;
    patience.disabled = !stopping.checked;
    rate.placeholder = `${OPTIMIZERS[optimizer.value]} (default)`;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++asked;
      try {
        const cost = await api("/v1/jobs/estimate", { method: "POST", body: body() });
        if (mine !== asked) return;
        showErrors(null);
        estimate.replaceChildren(`${cost.parameters.toLocaleString("en")} parameters · `,
          `${bytes(cost.memory_bytes)} peak memory · about ${seconds(cost.estimated_seconds)} on one core`);
        estimate.dataset.parameters = cost.parameters;
        estimate.classList.remove("bad");
      } catch (error) {
        if (mine !== asked) return;
        estimate.replaceChildren("No estimate: see the message below its field.");
        delete estimate.dataset.parameters;
        estimate.classList.add("bad");
        showErrors(error);
      }
    }, ESTIMATE_DELAY_MS);
  }

  async function send(event) {
    event.preventDefault();
    submit.disabled = true;
    try {
      const job = await api("/v1/jobs", { method: "POST", body: body() });
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      showErrors(error);
    } finally { submit.disabled = false; }
  }

  const form = el("form", { id: "job-form", onsubmit: send, oninput: changed, onchange: changed },
    el("div", { class: "card" }, el("h2", {}, "Data"),
      el("div", { class: "grid" }, field("job-dataset", "Dataset", dataset, "dataset_id", null, "wide"),
        field("job-task", "Task", task, "task")), defaults),
    el("div", { class: "card" }, el("h2", {}, "Network"), layerList, addButton,
      el("div", { class: "grid" }, field("job-output", "Output activation", output, "network.output_activation"),
        field("job-loss", "Loss", loss, "network.loss"))),
    el("div", { class: "card" }, el("h2", {}, "Training"),
      el("div", { class: "grid" },
        field("job-epochs", "Epochs", epochs, "training.epochs", `(default ${TRAINING.epochs})`),
        field("job-batch", "Batch size", batch, "training.batch_size", `(default ${TRAINING.batch_size})`),
        field("job-optimizer", "Optimizer", optimizer, "training.optimizer", "(default adam)"),
        field("job-rate", "Learning rate", rate, "training.optimizer.learning_rate"),
        field("job-split", "Validation split", split, "training.validation_split", `(default ${TRAINING.validation_split}; 0 = none)`),
        field("job-stopping", "Early stopping", stopping, "training.early_stopping", "(default on)"),
        field("job-patience", "Patience (epochs)", patience, "training.early_stopping.patience", `(default ${TRAINING.patience})`),
        field("job-decay", "Weight decay", decay, "training.weight_decay", "(default 0)"),
        field("job-seed", "Seed", seed, "training.seed", "(default 0)"))),
    el("div", { class: "card submit-bar" }, el("h2", {}, "Cost"), estimate, general, submit));
  view.append(el("h1", {}, from ? `Train again: changes to job ${from.id}` : "New training job"),
    datasets.some((d) => d.n_targets) ? form
      : el("p", {}, "No dataset with targets yet. ", link("#/upload", "Upload one"), " first."));
  changed();
}

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${units[i]}`;
}

function seconds(s) {
  if (s < 1) return "1 second";
  if (s < 90) return `${Math.round(s)} seconds`;
  if (s < 5400) return `${Math.round(s / 60)} minutes`;
  return `${(s / 3600).toFixed(1)} hours`;
}
