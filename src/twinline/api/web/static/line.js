// Line dashboard: polls /api/v1/twin/* and /api/v1/line/* every few seconds (no reload).
"use strict";
(() => {
  const API = "/api/v1";
  const EVERY_S = 3;
  const $ = id => document.getElementById(id);
  const state = {parameters: [], selected: null, object: null, seenAlarms: null, busy: false, picked: false};
  $("every").textContent = EVERY_S;

  async function get(path) {
    const r = await fetch(API + path, {headers: {Accept: "application/json"}});
    if (!r.ok) throw new Error(await tw.problem(r));
    return r.json();
  }
  const disp = (v, u) => (v === null || v === undefined) ? null : v * u.scale + u.offset;
  const label = (p, u) => `${p} [${tw.unit(u.display_unit)}]`;
  const shortTime = iso => iso.replace("T", " ").slice(0, 19);
  const LAYOUT = {margin: {l: 64, r: 12, t: 28, b: 48}, height: 340,
                  legend: {orientation: "h", y: -0.22}, font: {size: 12}};
  function plot(div, data, layout) {
    const el = $(div);
    if (!window.Plotly) return;
    const full = Object.assign({}, LAYOUT, layout);
    el.style.height = `${full.height}px`;  // the box follows the figure (no overlap on resize)
    window.Plotly.react(el, data, full,
                        {responsive: true, displaylogo: false});
  }

  // -- the line now ------------------------------------------------------------------------
  function lineNow(steps) {
    const box = $("line-now");
    box.replaceChildren();
    if (!steps.length) { box.append(tw.el("p", {class: "note"}, "no objects yet")); return; }
    for (const s of steps) {
      const rows = s.values.slice(0, 7).map(v => tw.el("tr", {},
        tw.el("td", {class: v.role}, v.parameter.split(".").slice(-1)[0] + (v.conditions ? ` (${v.conditions})` : "")),
        tw.el("td", {class: "n"}, tw.fmt(disp(v.value, v))),
        tw.el("td", {}, tw.unit(v.display_unit))));
      const card = tw.el("div", {class: "step" + (s.object === state.object ? " sel" : ""), title: "show its trace and track"},
        tw.el("h3", {}, `${s.kind.replace(/_/g, " ")} `, tw.el("span", {class: "note"}, `(${s.objects})`)),
        tw.el("div", {class: "oid"}, s.object),
        tw.el("div", {class: "note"}, shortTime(s.created) + " UTC"),
        tw.el("table", {}, ...rows));
      card.addEventListener("click", () => genealogy(s.object));
      box.append(card);
    }
    const objs = $("objects");
    objs.replaceChildren(...steps.map(s => tw.el("option", {value: s.object})));
    if (!state.object) {
      const pick = steps.find(s => s.kind === "slit_coil") || steps[steps.length - 1];
      genealogy(pick.object);
    }
  }

  // -- parameters --------------------------------------------------------------------------
  function parameters(list) {
    state.parameters = list;
    const sel = $("parameter");
    const keep = sel.value;
    sel.replaceChildren(...list.map(p => tw.el("option", {value: p.parameter},
      `${p.parameter} (${p.measurements} meas., ${p.alarms} alarms)`)));
    if (keep && list.some(p => p.parameter === keep)) sel.value = keep;
    else if (list.length) {
      const best = list.filter(p => p.residuals > 0).sort((a, b) => b.alarms - a.alarms)[0] || list[0];
      sel.value = best.parameter;
    }
    conditions();
  }
  function conditions() {
    const p = state.parameters.find(x => x.parameter === $("parameter").value);
    const sel = $("conditions");
    const keep = sel.value;
    const opts = $("series").value === "residual" ? [["", "all"]] : [];
    for (const c of (p ? p.conditions : [])) opts.push([c, c || "(none)"]);
    sel.replaceChildren(...opts.map(([v, t]) => tw.el("option", {value: v}, t)));
    if (opts.some(o => o[0] === keep)) sel.value = keep;
  }

  // -- control chart -----------------------------------------------------------------------
  async function chart() {
    const par = $("parameter").value;
    if (!par) return;
    const series = $("series").value;
    const cond = $("conditions").value;
    let q = `/twin/spc?parameter=${encodeURIComponent(par)}&series=${series}&limit=400`;
    if (series === "measurement" || cond) q += `&conditions=${encodeURIComponent(cond)}`;
    let c;
    try { c = await get(q); } catch (e) { $("chart-note").textContent = e.message; plot("chart", [], {}); return; }
    const u = {scale: c.scale, offset: c.offset};
    const y = c.values.map(v => disp(v, u));
    const x = c.times;
    const yTitle = series === "residual" ? "z-score [-]" : label(c.parameter.split(".").slice(1).join("."), c);
    const data = [{x, y, mode: "lines+markers", name: series === "residual" ? "z" : "measured",
                   marker: {size: 5, color: "#0b5cad"}, line: {width: 1},
                   text: c.objects, hovertemplate: "%{text}<br>%{x}<br>%{y:.4g}<extra></extra>"}];
    const shapes = [];
    const lines = [["centre", c.centre, "#2e7d32", "solid"], ["UCL", c.ucl, "#cf222e", "dash"], ["LCL", c.lcl, "#cf222e", "dash"]];
    for (const [name, v, color, dash] of lines) {
      if (v === null) continue;
      const yv = disp(v, u);
      data.push({x: [x[0], x[x.length - 1]], y: [yv, yv], mode: "lines", name: `${name} ${tw.fmt(yv)}`,
                 line: {color, dash, width: 1.5}, hoverinfo: "skip"});
    }
    if (c.alarms.length) {
      data.push({x: c.alarms.map(a => x[a.index]), y: c.alarms.map(a => y[a.index]), mode: "markers",
                 name: `alarms (${c.alarms.length})`, marker: {symbol: "x", size: 12, color: "#cf222e", line: {width: 2}},
                 text: c.alarms.map(a => a.message), hovertemplate: "%{text}<extra></extra>"});
    }
    plot("chart", data, {yaxis: {title: {text: yTitle}}, xaxis: {title: {text: "time (UTC)"}}, shapes});
    $("chart-note").textContent = `${c.total} points` + (c.total > c.values.length ? ` (newest ${c.values.length} shown)` : "")
      + (series === "measurement" ? `; centre and 3σ limits from the first ${c.phase_one} points (moving range)`
                                  : "; z = residual over both uncertainties, limits ±3")
      + (c.alarms.some(a => a.series === "event")
         ? "; ✕ event: the alarm policy's CUSUM or jump on z against its own baseline (centre and sd of z)" : "");
  }

  // -- residuals ---------------------------------------------------------------------------
  async function residuals() {
    const par = $("parameter").value;
    if (!par) return;
    const rows = await get(`/twin/residuals?parameter=${encodeURIComponent(par)}&limit=400`);
    const p = state.parameters.find(x => x.parameter === par) || {scale: 1, offset: 0, display_unit: ""};
    const k = p.scale;  // a difference scales without the offset
    plot("residuals", [{x: rows.map(r => r.time), y: rows.map(r => r.residual * k), mode: "markers",
      name: "residual", marker: {size: 5, color: "#6a3d9a"}, text: rows.map(r => r.object),
      error_y: {type: "data", array: rows.map(r => (r.std || 0) * k), thickness: 1, width: 0, color: "#b8a6d0"},
      hovertemplate: "%{text}<br>%{x}<br>%{y:.4g}<extra></extra>"},
      {x: rows.length ? [rows[0].time, rows[rows.length - 1].time] : [], y: [0, 0], mode: "lines",
       line: {color: "#2e7d32", width: 1}, name: "0", hoverinfo: "skip"}],
      {yaxis: {title: {text: `residual of ${par.split(".").slice(1).join(".")} [${tw.unit(p.display_unit)}]`}},
       xaxis: {title: {text: "time (UTC)"}}, showlegend: false});
  }

  // -- alarms ------------------------------------------------------------------------------
  // The alarm policy's events (series "event") carry a CUSUM or an object's mean in sigma
  // of the residual z-scores, not a value of the parameter; their message names the rule.
  const alarmValue = a => a.series === "event" ? `${a.value >= 0 ? "+" : ""}${tw.fmt(a.value)} σ`
                                               : `${tw.fmt(disp(a.value, a))} ${tw.unit(a.display_unit)}`;
  function alarms(list) {
    const body = $("alarms").querySelector("tbody");
    const keys = list.map(a => `${a.object}|${a.parameter}|${a.series}|${a.rule}|${a.time}`);
    const fresh = state.seenAlarms === null ? new Set() : new Set(keys.filter(k => !state.seenAlarms.has(k)));
    state.seenAlarms = new Set(keys);
    const rows = list.map((a, i) => {
      const cls = fresh.has(keys[i]) ? " new" : "";
      const row = tw.el("tr", {class: "alarm" + cls, title: a.message},
        tw.el("td", {}, shortTime(a.time).slice(11)), tw.el("td", {class: "oid"}, a.object), tw.el("td", {}, a.parameter.split(".").slice(1).join(".")),
        tw.el("td", {}, a.series), tw.el("td", {}, a.rule), tw.el("td", {class: "n"}, alarmValue(a)));
      return a.series === "event"
        ? [row, tw.el("tr", {class: "alarm-msg" + cls}, tw.el("td", {colspan: 6}, a.message))] : [row];
    });
    body.replaceChildren(...rows.reverse().flat());
    const badge = $("alarm-count");
    badge.textContent = String(list.length);
    badge.classList.toggle("hot", list.length > 0);
    // the newest alarm that arrived since the last poll (null on the first)
    for (let i = list.length - 1; i >= 0; i--) if (fresh.has(keys[i])) return list[i];
    return null;
  }
  // A new alarm brings its chart up (its parameter, the series it was raised on) unless the
  // user has chosen a chart.
  function showAlarm(a) {
    if (!a || state.picked || !state.parameters.some(p => p.parameter === a.parameter)) return;
    $("parameter").value = a.parameter;
    $("series").value = a.series === "measurement" ? "measurement" : "residual";
    conditions();
    if ($("series").value === "residual") $("conditions").value = "";
  }

  // -- calibration -------------------------------------------------------------------------
  function calibration(versions) {
    if (!versions.length) return;
    const names = versions[versions.length - 1].constants.map(c => c.name);
    const n = names.length;
    const cols = Math.min(2, n), rowsN = Math.ceil(n / cols);
    const data = [], layout = {height: 170 * rowsN + 60, showlegend: false, grid: {rows: rowsN, columns: cols, pattern: "independent"},
                               annotations: [], margin: {l: 64, r: 12, t: 24, b: 40}};
    names.forEach((name, k) => {
      const pts = versions.map((v, i) => [i, v.constants.find(c => c.name === name)]).filter(p => p[1]);
      const c0 = pts[pts.length - 1][1];
      const ax = k === 0 ? "" : String(k + 1);
      const xs = pts.map(p => p[0]), axes = {xaxis: "x" + ax, yaxis: "y" + ax};
      data.push({x: xs, y: pts.map(p => p[1].low), ...axes, mode: "lines", line: {width: 0}, hoverinfo: "skip"});
      data.push({x: xs, y: pts.map(p => p[1].high), ...axes, mode: "lines", line: {width: 0}, fill: "tonexty",
                 fillcolor: "rgba(11,92,173,0.18)", hoverinfo: "skip"});
      data.push({x: xs, y: pts.map(p => p[1].median), ...axes, mode: "lines+markers", marker: {size: 4, color: "#0b5cad"},
                 line: {width: 1.5, color: "#0b5cad"}, text: pts.map(p => `${versions[p[0]].version}: ${tw.fmt(p[1].median)} (${tw.fmt(p[1].low)} – ${tw.fmt(p[1].high)})`),
                 hovertemplate: "%{text}<extra></extra>"});
      layout["yaxis" + ax] = {title: {text: `[${tw.unit(c0.unit) === "–" ? "-" : tw.unit(c0.unit)}]`, standoff: 2}, exponentformat: "power"};
      layout["xaxis" + ax] = {title: {text: k >= n - cols ? "version #" : ""}};
      layout.annotations.push({text: name.split(".").slice(1).join("."), xref: `x${ax} domain`, yref: `y${ax} domain`,
                               x: 0.5, y: 1.0, yanchor: "bottom", showarrow: false, font: {size: 12}});
    });
    plot("calibration", data, layout);
    const active = versions.find(v => v.active) || versions[versions.length - 1];
    const t = $("calibration-table");
    t.replaceChildren(tw.el("tr", {}, ...["constant", "median", "90 % interval", "prior", "unit"].map(h => tw.el("th", {}, h))),
      ...active.constants.map(c => tw.el("tr", {}, tw.el("td", {}, c.name.split(".").slice(1).join(".")), tw.el("td", {class: "n"}, tw.fmt(c.median)),
        tw.el("td", {class: "n"}, `${tw.fmt(c.low)} – ${tw.fmt(c.high)}`), tw.el("td", {class: "n"}, tw.fmt(c.prior)),
        tw.el("td", {}, tw.unit(c.unit)))));
    t.prepend(tw.el("caption", {class: "note"}, `active version ${active.version} (${versions.length} versions shown; ${active.measurements} measurements in its update)`));
  }

  // -- genealogy ---------------------------------------------------------------------------
  async function genealogy(id) {
    if (!id) return;
    state.object = id;
    $("object").value = id;
    $("rec-object").value = id;
    const enc = encodeURIComponent(id);
    let up, down;
    try { [up, down] = await Promise.all([get(`/line/objects/${enc}/trace`), get(`/line/objects/${enc}/track`)]); }
    catch (e) { $("genealogy").replaceChildren(tw.el("p", {class: "error"}, e.message)); return; }
    const nodes = new Map();
    for (const e of up) nodes.set(e.object, {...e, col: -e.depth});
    for (const e of down) if (!nodes.has(e.object)) nodes.set(e.object, {...e, col: e.depth});
    const cols = [...new Set([...nodes.values()].map(n => n.col))].sort((a, b) => a - b);
    const byCol = new Map(cols.map(c => [c, [...nodes.values()].filter(n => n.col === c)]));
    const W = 190, H = 46, GAP = 60, VG = 14;
    const maxRows = Math.max(...[...byCol.values()].map(l => l.length));
    const width = cols.length * (W + GAP) + 20, height = maxRows * (H + VG) + 20;
    const pos = new Map();
    cols.forEach((c, i) => byCol.get(c).forEach((n, j) => {
      const off = (maxRows - byCol.get(c).length) * (H + VG) / 2;
      pos.set(n.object, {x: 10 + i * (W + GAP), y: 10 + off + j * (H + VG)});
    }));
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", width); svg.setAttribute("height", height);
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", `genealogy of ${id}`);
    const mk = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
    for (const n of nodes.values()) for (const p of n.parents || []) {
      const a = pos.get(p), b = pos.get(n.object);
      if (!a || !b) continue;
      svg.append(mk("path", {d: `M${a.x + W},${a.y + H / 2} C${a.x + W + GAP / 2},${a.y + H / 2} ${b.x - GAP / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}`,
                             fill: "none", stroke: "#8c959f", "stroke-width": 1.3}));
    }
    for (const n of nodes.values()) {
      const {x, y} = pos.get(n.object);
      const g = mk("g", {class: "node"});
      g.append(mk("rect", {x, y, width: W, height: H, rx: 6, fill: n.object === id ? "#ddeeff" : "#fff",
                           stroke: n.object === id ? "#0b5cad" : "#d0d7de", "stroke-width": n.object === id ? 2 : 1}));
      const t1 = mk("text", {x: x + 8, y: y + 18}); t1.textContent = n.object.length > 26 ? n.object.slice(0, 25) + "…" : n.object;
      const t2 = mk("text", {x: x + 8, y: y + 36, fill: "#57606a"});
      t2.textContent = `${n.kind.replace(/_/g, " ")} · ${n.measurements.length} meas.`;
      const title = mk("title", {}); title.textContent = `${n.object} (${n.kind}), created ${n.created}`;
      g.append(t1, t2, title);
      g.addEventListener("click", () => genealogy(n.object));
      svg.append(g);
    }
    $("genealogy").replaceChildren(svg);
    const me = up[0];
    const vals = [...me.settings.map(s => ({...s, role: "setting"})), ...me.measurements.map(s => ({...s, role: "measurement"}))];
    $("object-values").replaceChildren(tw.el("p", {class: "note"}, `${me.object}: ${me.kind.replace(/_/g, " ")}, ${up.length - 1} ancestors, ${down.length - 1} descendants, ${vals.length} records`));
    document.querySelectorAll(".step").forEach(el => el.classList.toggle("sel", el.querySelector(".oid").textContent === id));
  }

  // -- recommendation --------------------------------------------------------------------
  const SHOW = {"Pa": ["MPa", 1e-6, 0], "m": ["µm", 1e6, 0], "N/m": ["kN/m", 1e-3, 0], "kg/m^2": ["mg/cm²", 100, 0],
                "m/s": ["m/min", 60, 0], "K": ["°C", 1, -273.15], "1/s": ["1/s", 1, 0], "s": ["s", 1, 0], "": ["–", 1, 0]};
  const shown = (v, u) => { const [name, a, b] = SHOW[u] || [u, 1, 0]; return [v === null ? null : v * a + b, name, a]; };
  const rec = {version: null, at: 0, busy: false};
  async function recommend() {
    const targets = $("targets").value.split("\n").map(t => t.trim()).filter(Boolean);
    if (!targets.length || rec.busy) return;
    const body = {targets, samples: 32};
    const adjust = $("adjust").value.split(",").map(t => t.trim()).filter(Boolean);
    if (adjust.length) body.adjust = adjust;
    if ($("rec-object").value.trim()) body.object = $("rec-object").value.trim();
    rec.busy = true; rec.at = Date.now();
    $("recommend-button").disabled = true;
    $("rec-status").textContent = "solving…";
    try {
      const r = await fetch(API + "/twin/recommend", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      if (!r.ok) throw new Error(await tw.problem(r));
      const d = await r.json();
      rec.version = d.calibration_version;
      $("rec-status").replaceChildren(tw.el("span", {class: d.reachable ? "ok" : "bad"}, d.reachable ? "reachable" : "REFUSED"),
        ` · calibration ${d.calibration_version} · ${d.object ? "from " + d.object : "base recipe " + d.recipe} · ${d.wall_s.toFixed(1)} s`,
        ...d.messages.map(m => tw.el("div", {class: "warn"}, m)));
      $("rec-settings").replaceChildren(tw.el("tr", {}, ...["setting", "current", "recommended", "machine window", "unit"].map(h => tw.el("th", {}, h))),
        ...Object.entries(d.settings).map(([k, v]) => {
          const u = d.units[k] || "";
          const [rv, name] = shown(v, u), [cv] = shown(d.current[k], u), w = d.windows[k] || [null, null];
          return tw.el("tr", {}, tw.el("td", {}, k), tw.el("td", {class: "n"}, tw.fmt(cv)), tw.el("td", {class: "n"}, tw.fmt(rv)),
            tw.el("td", {class: "n"}, `${tw.fmt(shown(w[0], u)[0])} – ${tw.fmt(shown(w[1], u)[0])}`), tw.el("td", {}, name));
        }));
      $("rec-targets").replaceChildren(tw.el("tr", {}, ...["target output", "target", "predicted ± sd", "unit"].map(h => tw.el("th", {}, h))),
        ...d.targets.map(t => {
          const u = t.unit || d.units[t.parameter] || "";
          const [tv, name, a] = shown(t.value, u), [pv] = shown(d.predicted[t.parameter], u);
          const sd = d.uncertainty[t.parameter];
          return tw.el("tr", {}, tw.el("td", {}, t.parameter), tw.el("td", {class: "n"}, `${tw.fmt(tv)} ± ${tw.fmt(t.tolerance * a)}`),
            tw.el("td", {class: "n"}, `${tw.fmt(pv)} ± ${tw.fmt(sd === null ? null : sd * a)}`), tw.el("td", {}, name));
        }));
    } catch (e) {
      $("rec-status").replaceChildren(tw.el("span", {class: "error"}, e.message));
    } finally { rec.busy = false; $("recommend-button").disabled = false; }
  }
  $("recommend-form").addEventListener("submit", e => { e.preventDefault(); recommend(); });
  function maybeRecommend(cals) {
    const active = (cals.find(v => v.active) || {}).version;
    if ($("rec-live").checked && active && active !== rec.version && Date.now() - rec.at > 20000) recommend();
  }

  // -- polling -----------------------------------------------------------------------------
  async function refresh() {
    if (state.busy) return;
    state.busy = true;
    try {
      const [steps, pars, al, cals] = await Promise.all([get("/twin/line"), get("/twin/parameters"),
        get("/twin/alarms?limit=200"), get("/twin/calibrations?limit=40&groups=false")]);
      lineNow(steps); parameters(pars); showAlarm(alarms(al)); calibration(cals); maybeRecommend(cals);
      await Promise.all([chart(), residuals()]);
      $("line-status").textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC · ${steps.reduce((a, s) => a + s.objects, 0)} objects · ${pars.length} measured parameters · ${al.length} alarms`;
      $("line-status").classList.remove("error");
    } catch (e) {
      $("line-status").textContent = e.message;
      $("line-status").classList.add("error");
    } finally { state.busy = false; }
  }
  $("parameter").addEventListener("change", () => { state.picked = true; conditions(); chart(); residuals(); });
  $("series").addEventListener("change", () => { state.picked = true; conditions(); chart(); });
  $("conditions").addEventListener("change", () => { state.picked = true; chart(); });
  $("genealogy-form").addEventListener("submit", e => { e.preventDefault(); genealogy($("object").value.trim()); });
  let timer = null;
  const schedule = () => { clearInterval(timer); if ($("live").checked) timer = setInterval(refresh, EVERY_S * 1000); };
  $("live").addEventListener("change", schedule);
  const start = () => { refresh(); schedule(); };
  if (window.Plotly) start(); else window.addEventListener("load", start, {once: true});
})();
