/* Fairness history page: plain JavaScript and SVG, no build step and no third-party code.
 *
 * Without ?dag_id= it lists the audited DAGs the user may read, with their latest verdict.
 * With ?dag_id=X it draws, for the last runs of X: the verdict of each run, one chart per metric
 * (the gate's band shaded, violated runs in red), SHAP importance over runs (small multiples) and
 * the NDCG drift score. Clicking a run shows its verdict and links to its reports.
 * Every text from the server is set with textContent: nothing from the data becomes markup.
 */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const W = 340, H = 150, PAD = { l: 44, r: 10, t: 10, b: 22 };
let selectedRun = null;
let runsById = {};
let currentDag = null;

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setStatus(text, isError) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = isError ? "error" : "muted";
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) throw new Error("Sign in to Airflow to see the fairness history.");
  if (response.status === 403) throw new Error("You are not allowed to read the audits of this DAG.");
  if (!response.ok) throw new Error(`The history API answered ${response.status}.`);
  return response.json();
}

function fmt(value) {
  if (value === null || value === undefined) return "n/a";
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 0.001 || magnitude >= 10000) ? value.toExponential(2) : value.toFixed(3);
}

function badge(verdict) {
  return el("span", { class: `badge ${verdict || "none"}` }, verdict || "no gate");
}

/* One line chart: points [{x, y, violated, run_id, text}], optional band {lower, upper}. */
function lineChart(title, explain, points, band, fixedDomain) {
  const figure = el("figure", { class: "chart" });
  const caption = el("figcaption", {}, title);
  if (explain) {
    caption.appendChild(el("br"));
    caption.appendChild(el("span", { class: "explain" }, explain));
  }
  figure.appendChild(caption);
  const finite = points.filter((p) => p.y !== null && Number.isFinite(p.y));
  const values = finite.map((p) => p.y);
  if (band) {
    if (band.lower !== null && band.lower !== undefined) values.push(band.lower);
    if (band.upper !== null && band.upper !== undefined) values.push(band.upper);
  }
  let [lo, hi] = fixedDomain || [Math.min(...values), Math.max(...values)];
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const margin = fixedDomain ? 0 : (hi - lo) * 0.08;
  lo -= margin; hi += margin;
  const n = Math.max(points.length, 2);
  const x = (i) => PAD.l + (i * (W - PAD.l - PAD.r)) / (n - 1);
  const y = (v) => PAD.t + ((hi - v) * (H - PAD.t - PAD.b)) / (hi - lo);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": title });
  if (band) {
    const top = band.upper === null || band.upper === undefined ? PAD.t : y(Math.min(band.upper, hi));
    const bottom = band.lower === null || band.lower === undefined ? H - PAD.b : y(Math.max(band.lower, lo));
    if (bottom > top) {
      const rect = svg("rect", { class: "band", x: PAD.l, y: top, width: W - PAD.l - PAD.r, height: bottom - top });
      rect.appendChild(svg("title", {}, `accepted band: ${fmt(band.lower)} .. ${fmt(band.upper)}`));
      chart.appendChild(rect);
    }
  }
  chart.appendChild(svg("line", { class: "axis", x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }));
  chart.appendChild(svg("line", { class: "axis", x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b }));
  chart.appendChild(svg("text", { x: PAD.l - 4, y: PAD.t + 8, "text-anchor": "end" }, fmt(hi)));
  chart.appendChild(svg("text", { x: PAD.l - 4, y: H - PAD.b, "text-anchor": "end" }, fmt(lo)));
  if (points.length) {
    chart.appendChild(svg("text", { x: PAD.l, y: H - 6 }, shortDate(points[0].run_id)));
    chart.appendChild(svg("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end" }, shortDate(points[points.length - 1].run_id)));
  }
  let path = "", pen = "M";
  points.forEach((p, i) => {
    if (p.y === null || !Number.isFinite(p.y)) { pen = "M"; return; }
    path += `${pen}${x(i).toFixed(1)},${y(p.y).toFixed(1)} `;
    pen = "L";
  });
  chart.appendChild(svg("path", { class: "series", d: path.trim() || "M0,0" }));
  points.forEach((p, i) => {
    if (p.y === null || !Number.isFinite(p.y)) return;
    const dot = svg("circle", {
      class: `point${p.violated ? " violated" : ""}`,
      cx: x(i).toFixed(1), cy: y(p.y).toFixed(1), r: p.violated ? 3.5 : 2.5, "data-run": p.run_id,
    });
    dot.appendChild(svg("title", {}, `${p.run_id}: ${fmt(p.y)}${p.violated ? " (violation)" : ""}`));
    dot.addEventListener("click", () => selectRun(p.run_id));
    chart.appendChild(dot);
  });
  figure.appendChild(chart);
  return figure;
}

function shortDate(runId) {
  const run = runsById[runId];
  const when = run && (run.logical_date || run.run_after);
  return when ? when.slice(0, 10) : runId.slice(0, 16);
}

function selectRun(runId) {
  selectedRun = runId;
  const run = runsById[runId];
  const panel = document.getElementById("selected");
  panel.replaceChildren();
  if (!run) return;
  panel.appendChild(el("strong", {}, `Run ${run.run_id} `));
  panel.appendChild(badge(run.verdict));
  panel.appendChild(el("span", { class: "muted" }, ` ${run.violations} violation(s) · ${run.logical_date || run.run_after || ""} · ${run.state || ""} `));
  for (const taskId of run.reports) {
    const href = ["api/dags", currentDag, "runs", run.run_id, "tasks", taskId, "report"]
      .map((part, i) => (i % 2 ? encodeURIComponent(part) : part)).join("/");
    const link = el("a", { href, target: "_blank", rel: "noopener", class: "report-link" }, `report of ${taskId}`);
    panel.appendChild(document.createTextNode(" "));
    panel.appendChild(link);
  }
  document.querySelectorAll("circle.point").forEach((dot) => {
    dot.classList.toggle("selected", dot.getAttribute("data-run") === runId);
  });
}

async function showOverview() {
  const data = await api("api/dags");
  const content = document.getElementById("content");
  if (!data.dags.length) {
    setStatus("No audited DAG yet: run a DAG with a Clarify analysis or gate task, then come back.");
    return;
  }
  setStatus(`${data.dags.length} audited DAG(s).`);
  const table = el("table", { id: "overview" });
  const head = el("tr");
  for (const name of ["DAG", "Audited runs", "Latest run", "Verdict", "Violations"]) head.appendChild(el("th", {}, name));
  table.appendChild(head);
  for (const dag of data.dags) {
    const row = el("tr", { "data-dag": dag.dag_id });
    const cell = el("td");
    cell.appendChild(el("a", { href: `?dag_id=${encodeURIComponent(dag.dag_id)}` }, dag.dag_id));
    row.appendChild(cell);
    row.appendChild(el("td", {}, dag.audited_runs));
    row.appendChild(el("td", {}, `${dag.last_run_id} (${(dag.last_run_after || "").slice(0, 16)})`));
    const verdict = el("td");
    verdict.appendChild(badge(dag.verdict));
    row.appendChild(verdict);
    row.appendChild(el("td", {}, dag.violations));
    table.appendChild(row);
  }
  content.appendChild(table);
}

async function showDag(dagId, limit) {
  currentDag = dagId;
  document.getElementById("title").textContent = `Fairness history: ${dagId}`;
  document.getElementById("subtitle").textContent =
    "One chart per metric over the audited runs; the gate's accepted band is shaded, violations are red. Click a run for its reports.";
  const data = await api(`api/dags/${encodeURIComponent(dagId)}/history?limit=${limit}`);
  runsById = Object.fromEntries(data.runs.map((run) => [run.run_id, run]));
  const content = document.getElementById("content");
  if (!data.runs.length) {
    setStatus("This DAG has no recorded audits yet.");
    return;
  }
  setStatus(`${data.runs.length} audited run(s), oldest first.`);
  content.appendChild(el("div", { id: "selected" }, "Click a run (a square or a point) to see its verdict and reports."));

  content.appendChild(el("h2", {}, "Verdict per run"));
  const strip = el("div", { class: "strip", id: "verdicts" });
  for (const run of data.runs) {
    const cell = el("span", { class: run.verdict || "none", title: `${run.run_id}: ${run.verdict || "no gate"}` });
    cell.addEventListener("click", () => selectRun(run.run_id));
    strip.appendChild(cell);
  }
  content.appendChild(strip);

  // every series from the API is aligned with data.runs: index i is run i (null = no value)
  const aligned = (values, violated) =>
    data.runs.map((run, i) => ({ run_id: run.run_id, y: values[i], violated: !!(violated && violated[i]) }));

  content.appendChild(el("h2", {}, "Bias metrics"));
  const grid = el("div", { class: "grid", id: "metric-charts" });
  for (const series of data.metrics) {
    const title = `${series.metric} · ${series.stage.replace("_", "-")} · ${series.facet} = ${series.group}`;
    grid.appendChild(lineChart(title, series.explain, aligned(series.values, series.violated), series.band));
  }
  content.appendChild(grid);

  if (data.shap.features.length) {
    content.appendChild(el("h2", {}, "SHAP importance over runs"));
    const shapGrid = el("div", { class: "grid", id: "shap-charts" });
    for (const feature of data.shap.features.slice(0, 8)) {
      shapGrid.appendChild(lineChart(`mean |SHAP| · ${feature}`, null, aligned(data.shap.values[feature]), null));
    }
    content.appendChild(shapGrid);
    content.appendChild(el("h2", {}, "Feature-attribution drift (NDCG against the first run shown)"));
    const ndcg = el("div", { class: "grid", id: "ndcg-chart" });
    ndcg.appendChild(lineChart("NDCG", "1 = same feature ranking as the first run; lower = the ranking drifted.",
      aligned(data.ndcg), null, [0, 1]));
    content.appendChild(ndcg);
  }
  selectRun(data.runs[data.runs.length - 1].run_id);
}

async function main() {
  const params = new URLSearchParams(window.location.search);
  const dagId = params.get("dag_id");
  const limit = Math.min(Math.max(parseInt(params.get("limit") || "100", 10) || 100, 1), 1000);
  try {
    if (dagId) await showDag(dagId, limit);
    else await showOverview();
    document.body.setAttribute("data-ready", "true");
  } catch (err) {
    setStatus(err.message, true);
    document.body.setAttribute("data-ready", "error");
  }
}

main();
