// Sluice web view: reads the REST API (the session cookie authenticates GETs) and redraws in
// place; a run page polls its run every second while it is not over.
"use strict";
window.__sluiceLoadedAt = window.__sluiceLoadedAt || Date.now() + "-" + Math.random();

const terminal = new Set(["Finished", "Failed", "Canceled", "Interrupted"]);
const main = document.getElementById("main");

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}
const SVG = "http://www.w3.org/2000/svg";
function sv(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}
async function api(path) {
  const r = await fetch(path, { credentials: "same-origin", headers: { "Accept": "application/json" } });
  if (!r.ok) {
    let msg = r.status + "";
    try { msg += ": " + (await r.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  const ct = r.headers.get("Content-Type") || "";
  return ct.startsWith("application/json") ? r.json() : r.text();
}
function fmtTime(t) { return t ? new Date(t).toLocaleString() : "–"; }
function fmtDur(s) {
  if (s === null || s === undefined) return "";
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 120) return s.toFixed(1) + " s";
  return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
}
// fmtProgress renders a running step's progress: "120/2000 items · 85.3 items/s · ETA 22.0 s · decode-bound".
function fmtProgress(p) {
  let t = (p.total ? p.done + "/" + p.total : p.done) + " items · " + fmtRate(p.items_per_s) + " items/s";
  if (p.eta_s) t += " · ETA " + fmtDur(p.eta_s);
  if (p.bottleneck) t += " · " + p.bottleneck;
  return t;
}
function fmtRate(r) { return r >= 100 ? Math.round(r).toString() : r.toFixed(r >= 10 ? 1 : 2); }
function statusSpan(s) { return el("span", { class: "status s-" + s, text: s }); }
function link(href, text) { return el("a", { href, text }); }
function fail(err) { main.replaceChildren(el("p", { class: "s-Failed", text: "Error: " + err.message })); }

async function pipelinesPage() {
  const data = await api("/api/v1/pipelines");
  const t = el("table", {}, el("tr", {}, el("th", { text: "Pipeline" }), el("th", { text: "Default version" }),
    el("th", { text: "Versions" }), el("th", { text: "Description" })));
  for (const p of data.pipelines) {
    t.append(el("tr", {}, el("td", {}, link("/pipelines/" + encodeURIComponent(p.name), p.name)),
      el("td", { text: p.default_version }), el("td", { text: p.versions.map(v => v.version).join(", ") }),
      el("td", { text: p.description })));
  }
  main.replaceChildren(el("h1", { text: "Published pipelines" }), t);
}

function runsTable(runs) {
  const t = el("table", { id: "runs" }, el("tr", {}, el("th", { text: "Run" }), el("th", { text: "Pipeline" }),
    el("th", { text: "Status" }), el("th", { text: "Created" }), el("th", { text: "Message" })));
  for (const r of runs) {
    t.append(el("tr", {}, el("td", {}, link("/runs/" + encodeURIComponent(r.id), r.id)), el("td", { text: r.pipeline }),
      el("td", {}, statusSpan(r.status)), el("td", { text: fmtTime(r.created) }), el("td", { text: r.message || "" })));
  }
  return t;
}

async function runsPage(pipeline) {
  const q = pipeline ? "?pipeline=" + encodeURIComponent(pipeline) : "";
  const data = await api("/api/v1/runs" + q);
  const kids = [el("h1", { text: pipeline ? "Pipeline " + pipeline : "Runs" })];
  if (pipeline) {
    const p = await api("/api/v1/pipelines/" + encodeURIComponent(pipeline));
    kids.push(el("p", { class: "muted", text: "Default version " + p.default_version + " · inputs: " +
      (p.inputs || []).map(i => i.name + " (" + i.type + ")").join(", ") }));
  }
  kids.push(runsTable(data.runs));
  main.replaceChildren(...kids);
  setTimeout(() => route().catch(fail), 5000);
}

// layout places steps in columns by their longest distance from a source.
function layout(steps) {
  const depth = {};
  const byName = Object.fromEntries(steps.map(s => [s.name, s]));
  const d = (n, seen) => {
    if (depth[n] !== undefined) return depth[n];
    if (seen.has(n)) return 0;
    seen.add(n);
    const ups = (byName[n] && byName[n].upstream) || [];
    depth[n] = ups.length ? Math.max(...ups.map(u => d(u, seen) + 1)) : 0;
    return depth[n];
  };
  steps.forEach(s => d(s.name, new Set()));
  const cols = {};
  const pos = {};
  for (const s of steps) {
    const c = depth[s.name];
    cols[c] = (cols[c] || 0) + 1;
    pos[s.name] = { x: 20 + c * 220, y: 20 + (cols[c] - 1) * (NH + 26) };
  }
  const w = 20 + (Math.max(0, ...Object.values(depth)) + 1) * 220;
  const h = 20 + Math.max(1, ...Object.values(cols)) * (NH + 26);
  return { pos, w, h };
}

const NW = 180, NH = 80;

function drawGraph(run, onSelect) {
  const { pos, w, h } = layout(run.steps);
  const svg = sv("svg", { class: "graph", id: "graph", width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const defs = sv("defs");
  const marker = sv("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" });
  marker.append(sv("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }));
  defs.append(marker);
  svg.append(defs);
  for (const s of run.steps) {
    for (const u of s.upstream) {
      if (!pos[u]) continue;
      const a = pos[u], b = pos[s.name];
      const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, mx = (x1 + x2) / 2;
      svg.append(sv("path", { class: "edge", "data-from": u, "data-to": s.name, d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
    }
  }
  for (const s of run.steps) {
    const p = pos[s.name];
    const g = sv("g", { class: "node", "data-step": s.name, transform: `translate(${p.x},${p.y})` });
    g.append(sv("rect", { width: NW, height: NH }));
    const name = sv("text", { class: "name", x: 10, y: 18 }); name.textContent = s.name;
    const st = sv("text", { class: "st", x: 10, y: 36 });
    const info = sv("text", { class: "info", x: 10, y: 54 });
    const prog = sv("text", { class: "prog", x: 10, y: 71 });
    const tip = sv("title");
    g.append(tip, name, st, info, prog);
    g.addEventListener("click", () => onSelect(s.name));
    svg.append(g);
  }
  return svg;
}

function updateGraph(svg, run) {
  for (const s of run.steps) {
    const g = svg.querySelector(`g.node[data-step="${CSS.escape(s.name)}"]`);
    if (!g) continue;
    g.setAttribute("class", "node s-" + s.status);
    g.dataset.status = s.status;
    g.querySelector("text.st").textContent = s.status + (s.attempts > 1 ? " (attempt " + s.attempts + ")" : "");
    g.querySelector("text.info").textContent = s.reused ? "reused" : fmtDur(s.duration_s);
    // A running dataflow step's progress: the count and rate on the node, everything in its tooltip.
    const p = s.status === "Running" && s.progress;
    g.querySelector("text.prog").textContent = p ?
      (p.total ? p.done + "/" + p.total : p.done) + " · " + fmtRate(p.items_per_s) + " items/s" : "";
    g.querySelector("title").textContent = s.name + ": " + s.status + (p ? " · " + fmtProgress(p) : "");
  }
}

function stepsTable(run) {
  const t = el("table", { id: "steps" }, el("tr", {}, el("th", { text: "Step" }), el("th", { text: "Status" }),
    el("th", { text: "Duration" }), el("th", { text: "Reused" }), el("th", { text: "Attempts" }), el("th", { text: "Message" })));
  for (const s of run.steps) {
    t.append(el("tr", { "data-step": s.name }, el("td", { text: s.name }), el("td", {}, statusSpan(s.status),
        s.status === "Running" && s.progress ? el("span", { class: "progress", text: " " + fmtProgress(s.progress) }) : ""),
      el("td", { text: fmtDur(s.duration_s) }), el("td", { text: s.reused ? "from " + s.reused_from : "no" }),
      el("td", { text: String(s.attempts) }), el("td", { text: s.message || "" })));
  }
  return t;
}

async function runPage(id) {
  let selected = null;
  let svg = null;
  const head = el("div");
  const graphBox = el("div");
  const table = el("div");
  const logTitle = el("h2", { text: "Log" });
  const log = el("pre", { class: "log", id: "log", text: "Select a step in the graph to see its log." });
  main.replaceChildren(head, graphBox, table, logTitle, log);
  const refreshLog = async () => {
    if (!selected) return;
    try {
      log.textContent = await api(`/api/v1/runs/${encodeURIComponent(id)}/logs?step=${encodeURIComponent(selected)}`) || "(empty)";
    } catch (e) { log.textContent = e.message; }
  };
  const select = (name) => { selected = name; delete log.dataset.final; logTitle.textContent = "Log of " + name; refreshLog(); };
  const tick = async () => {
    let run;
    try { run = await api("/api/v1/runs/" + encodeURIComponent(id)); } catch (e) { fail(e); return; }
    head.replaceChildren(el("h1", {}, "Run " + run.id + " ", statusSpan(run.status)),
      el("p", { class: "muted", text: `pipeline ${run.pipeline}` + (run.version ? ` version ${run.version}` : "") +
        (run.schedule ? ` · fired by schedule ${run.schedule}` : "") + ` · created ${fmtTime(run.created)} · parameters ` +
        Object.entries(run.parameters).map(([k, v]) => k + "=" + v).join(" ") }),
      run.message ? el("p", { text: run.message }) : "");
    head.dataset.status = run.status;
    if (!svg) { svg = drawGraph(run, select); graphBox.replaceChildren(svg); }
    updateGraph(svg, run);
    table.replaceChildren(stepsTable(run));
    const cur = selected && run.steps.find(s => s.name === selected);
    if (cur && (!terminal.has(cur.status) || !log.dataset.final)) {
      await refreshLog();
      if (terminal.has(cur.status)) log.dataset.final = "1";
    }
    if (!terminal.has(run.status)) setTimeout(tick, 1000);
  };
  await tick();
}

async function route() {
  const p = location.pathname;
  let m;
  if ((m = p.match(/^\/runs\/(.+)$/))) return runPage(decodeURIComponent(m[1]));
  if ((m = p.match(/^\/pipelines\/(.+)$/))) return runsPage(decodeURIComponent(m[1]));
  if (p === "/pipelines") return pipelinesPage();
  if (p === "/runs") return runsPage("");
  await pipelinesPage();
  main.append(el("h2", { text: "Recent runs" }), runsTable((await api("/api/v1/runs?limit=20")).runs));
}
route().catch(fail);
