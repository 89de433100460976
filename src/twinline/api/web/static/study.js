// Study and design page: a reduced study as a job (progress bar), its results, inverse design.
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const state = {study: null, result: null};
  const pintUnit = u => (u === "µm" ? "um" : u);
  const shown = (name, v) => {
    const u = state.result.units[name];
    return v === null || v === undefined ? null : v * (u ? u.scale : 1);
  };
  const unitOf = name => { const u = state.result.units[name]; return u ? tw.unit(u.display_unit) : "–"; };
  const labelOf = name => `${name} [${unitOf(name) === "–" ? "-" : unitOf(name)}]`;

  function setProgress(frac, text) {
    const bar = $("progress");
    const pct = Math.round(100 * frac);
    bar.firstElementChild.style.width = `${pct}%`;
    bar.setAttribute("aria-valuenow", String(pct));
    $("study-status").textContent = text;
  }

  async function post(url, body) {
    const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    if (!r.ok) throw new Error(await tw.problem(r));
    return r.json();
  }

  $("study-form").addEventListener("submit", async e => {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = {};
    for (const [k, v] of f.entries()) body[k] = Number(v);
    $("study-button").disabled = true;
    setProgress(0, "queued…");
    try {
      let job = await post("/ui/study/run", body);
      const t0 = Date.now();
      while (job.state === "queued" || job.state === "running") {
        await new Promise(res => setTimeout(res, 700));
        const r = await fetch(job.url);
        if (!r.ok) throw new Error(await tw.problem(r));
        job = await r.json();
        setProgress(job.progress, `${job.state}: ${job.stage || "…"} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
      if (job.state === "failed") throw new Error(job.message);
      setProgress(1, `done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${job.result.n_train} training and ${job.result.n_validation} validation points`);
      show(job.result);
    } catch (err) {
      $("study-status").replaceChildren(tw.el("span", {class: "error"}, err.message));
    } finally { $("study-button").disabled = false; }
  });

  function show(res) {
    state.result = res; state.study = res.study;
    $("study-results").hidden = false;
    $("r2-note").textContent = `(best on validation: ${res.best_surrogate}; ${res.n_train} training, ${res.n_validation} validation points, voxel ${res.voxel_um} µm)`;
    const f2 = x => x === null ? "–" : x.toFixed(3);
    const f1 = x => x === null ? "–" : x.toFixed(1);
    // test R² comes from cross-validation, which a study of few points skips: its column then goes
    const cv = res.scores.some(s => s.test_r2 !== null);
    const head = ["surrogate", "output", ...(cv ? ["test R² [-]"] : []), "validation R² [-]", "validation MAPE [%]"];
    $("r2").replaceChildren(tw.el("tr", {}, ...head.map(h => tw.el("th", {}, h))),
      ...res.scores.map(s => tw.el("tr", {class: s.surrogate === res.best_surrogate ? "best" : ""},
        tw.el("td", {}, s.surrogate), tw.el("td", {}, s.label), ...(cv ? [tw.el("td", {class: "n"}, f2(s.test_r2))] : []),
        tw.el("td", {class: "n"}, f2(s.validation_r2)), tw.el("td", {class: "n"}, f1(s.validation_mape)))));
    $("equations").replaceChildren(tw.el("tr", {}, ...["output", "equation", "R² (training) [-]", "RMSE [output unit]"].map(h => tw.el("th", {}, h))),
      ...res.equations.map(q => tw.el("tr", {}, tw.el("td", {}, q.output), tw.el("td", {}, tw.el("code", {}, q.equation)),
        tw.el("td", {class: "n"}, f2(q.r2)), tw.el("td", {class: "n"}, tw.fmt(q.rmse)))));
    const fig = res.sobol_figure;
    delete fig.layout.width;
    $("sobol").style.height = `${fig.layout.height}px`;  // the box follows the figure
    $("sobol").replaceChildren();
    tw.plot($("sobol"), fig);
    designForm(res);
  }

  function designForm(res) {
    $("design-form").hidden = false;
    $("bounds").replaceChildren(tw.el("tr", {}, ...["input", "low", "high", "unit"].map(h => tw.el("th", {}, h))),
      ...res.inputs.map(p => {
        const u = res.units[p.name];
        const val = v => String(Number((v * u.scale).toPrecision(4)));
        return tw.el("tr", {"data-name": p.name}, tw.el("td", {}, p.name),
          tw.el("td", {}, tw.el("input", {type: "number", step: "any", class: "lo", value: val(p.low)})),
          tw.el("td", {}, tw.el("input", {type: "number", step: "any", class: "hi", value: val(p.high)})),
          tw.el("td", {}, tw.unit(u.display_unit)));
      }));
    const defaults = [["porosity", "target", 0.35, 0.02], ["sigma_eff", "max", "", ""], ["active_surface", "max", "", ""]];
    const rows = defaults.map(([name, goal, t, tol]) => {
      const pick = res.outputs.includes(name) ? name : "";
      const sel = tw.el("select", {class: "out"}, tw.el("option", {value: ""}, "—"), ...res.outputs.map(o => tw.el("option", {value: o}, o)));
      sel.value = pick;
      const kind = tw.el("select", {class: "kind"}, ...["target", "max", "min"].map(k => tw.el("option", {value: k}, k)));
      kind.value = goal;
      const unit = tw.el("td", {class: "u"}, pick ? unitOf(pick) : "");
      sel.addEventListener("change", () => { unit.textContent = sel.value ? unitOf(sel.value) : ""; });
      return tw.el("tr", {}, tw.el("td", {}, sel), tw.el("td", {}, kind),
        tw.el("td", {}, tw.el("input", {type: "number", step: "any", class: "t", value: String(t), placeholder: "target"})),
        tw.el("td", {}, tw.el("input", {type: "number", step: "any", class: "tol", value: String(tol), placeholder: "±"})), unit);
    });
    $("objectives").replaceChildren(tw.el("tr", {}, ...["objective", "goal", "target", "tolerance", "unit"].map(h => tw.el("th", {}, h))), ...rows);
  }

  const withUnit = (name, v) => {
    const u = state.result.units[name];
    const pu = u ? pintUnit(u.display_unit) : "-";
    return pu && pu !== "-" ? `${v} ${pu}` : Number(v);
  };

  $("design-form").addEventListener("submit", async e => {
    e.preventDefault();
    const parameters = {}, objectives = {}, constraints = {};
    for (const tr of $("bounds").querySelectorAll("tr[data-name]")) {
      parameters[tr.dataset.name] = [withUnit(tr.dataset.name, tr.querySelector(".lo").value), withUnit(tr.dataset.name, tr.querySelector(".hi").value)];
    }
    for (const tr of $("objectives").querySelectorAll("tr")) {
      const out = tr.querySelector(".out");
      if (!out || !out.value) continue;
      const kind = tr.querySelector(".kind").value;
      objectives[out.value] = kind === "target"
        ? {target: withUnit(out.value, tr.querySelector(".t").value || "0"), tolerance: withUnit(out.value, tr.querySelector(".tol").value || "0")}
        : kind;
    }
    const tmax = $("max-thickness").value;
    if (tmax && state.result.outputs.includes("thickness")) constraints.thickness = {max: `${tmax} um`};
    $("design-button").disabled = true;
    $("design-status").textContent = "optimising…";
    try {
      const res = await post(`/ui/study/${state.study}/design`, {parameters, objectives, constraints, trials: Number($("trials").value), seed: 0});
      $("design-status").replaceChildren(...res.notes.map(n => tw.el("div", {class: "warn"}, n)),
        tw.el("div", {}, `${res.front.length} settings on the Pareto front of ${res.trials.length} trials (${res.wall_s.toFixed(1)} s)`));
      pareto(res);
    } catch (err) {
      $("design-status").replaceChildren(tw.el("span", {class: "error"}, err.message));
    } finally { $("design-button").disabled = false; }
  });

  function pareto(res) {
    state.result.units = Object.assign({}, state.result.units, res.units);
    $("design-results").hidden = false;
    // the axes: the objectives that vary over the trials (a constant one, e.g. σ_eff = 0 when
    // the pore phase of coarse voxels does not percolate, says nothing), then the inputs
    const varies = k => new Set(res.trials.map(t => t[k])).size > 1;
    const objs = res.objectives.map(o => o.name).filter(varies);
    const axes = [...objs, ...Object.keys(res.trials[0] || {}).filter(k => !objs.includes(k) && k !== "feasible" && k !== "extrapolation" && varies(k))];
    const x = axes[0], y = axes[1];
    const col = k => rows => rows.map(r => shown(k, r[k]));
    const data = [
      {x: col(x)(res.trials.filter(t => !t.feasible)), y: col(y)(res.trials.filter(t => !t.feasible)), mode: "markers",
       name: "infeasible trials", marker: {size: 4, color: "#d0d0d0"}},
      {x: col(x)(res.trials.filter(t => t.feasible)), y: col(y)(res.trials.filter(t => t.feasible)), mode: "markers",
       name: "feasible trials", marker: {size: 4, color: "#9ecae1"}},
      {x: col(x)(res.front), y: col(y)(res.front), mode: "markers", name: "Pareto front",
       marker: axes.length > 2 ? {size: 10, color: col(axes[2])(res.front), colorscale: "Plasma", showscale: true,
                                  colorbar: {title: {text: labelOf(axes[2]), side: "right"}, thickness: 12}}
                               : {size: 10, color: "#d62728"}}];
    if (res.best[x] !== undefined) data.push({x: [shown(x, res.best[x])], y: [shown(y, res.best[y])], mode: "markers",
      name: "best compromise", marker: {size: 16, symbol: "star", color: "#2e7d32", line: {width: 1, color: "#000"}}});
    $("pareto").style.height = "440px";
    window.Plotly.react($("pareto"), data, {height: 440, margin: {l: 70, r: 20, t: 20, b: 90},
      xaxis: {title: {text: labelOf(x)}}, yaxis: {title: {text: labelOf(y)}}, legend: {orientation: "h", y: -0.25}},
      {responsive: true, displaylogo: false});
    const cols = Object.keys(res.front[0] || res.best).filter(k => k !== "feasible" && k !== "extrapolation");
    $("front").replaceChildren(tw.el("tr", {}, ...cols.map(k => tw.el("th", {}, labelOf(k)))),
      ...res.front.slice(0, 50).map(r => tw.el("tr", {}, ...cols.map(k => tw.el("td", {class: "n"}, tw.fmt(shown(k, r[k])))))));
  }
})();
