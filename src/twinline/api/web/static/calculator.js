// Calculator: collect the form as {recipe path: "value unit"}, run it on the server, show results.
"use strict";
(() => {
  const form = document.getElementById("recipe");
  const results = document.getElementById("results");
  const runButton = document.getElementById("run");

  function values() {
    const out = {};
    for (const input of form.querySelectorAll("#form-fields [name]")) {
      const v = input.value.trim();
      if (input.dataset.kind === "quantity") out[input.name] = v === "" ? "" : `${v} ${input.dataset.unit}`.trim();
      else out[input.name] = v;
    }
    return out;
  }

  function showError(message) {
    results.replaceChildren(tw.el("div", {class: "error", role: "alert"}, `error: ${message}`));
  }

  function table(rows, withStd) {
    const head = tw.el("tr", {}, tw.el("th", {}, "parameter"), tw.el("th", {}, "value"),
      ...(withStd ? [tw.el("th", {}, "±")] : []), tw.el("th", {}, "unit"));
    const t = tw.el("table", {class: "data"}, tw.el("thead", {}, head));
    const body = tw.el("tbody");
    for (const r of rows) {
      body.append(tw.el("tr", {}, tw.el("td", {}, tw.el("code", {}, r.id)),
        tw.el("td", {class: "n"}, tw.fmt(r.value)),
        ...(withStd ? [tw.el("td", {class: "n"}, r.std ? tw.fmt(r.std) : "")] : []),
        tw.el("td", {}, tw.unit(r.unit))));
    }
    t.append(body);
    return t;
  }

  function show(res) {
    const parts = [tw.el("h2", {}, `Key results — ${res.recipe_name}`),
      tw.el("p", {class: "note"}, `chain time ${tw.fmt(res.seconds * 1e3)} ms · deterministic, no 3D structure`),
      table(res.key, false), tw.el("h2", {}, "Warnings")];
    if (res.warnings.length === 0) parts.push(tw.el("p", {class: "note"}, "None: every setting is inside its model's validity range."));
    for (const w of res.warnings) parts.push(tw.el("div", {class: "warn"}, w));
    for (const n of res.notes) parts.push(tw.el("p", {class: "note"}, n));
    const figs = tw.el("div", {class: "figs"});
    parts.push(tw.el("h2", {}, "Step figures"), figs);
    const all = tw.el("details", {}, tw.el("summary", {}, `All ${res.outputs.length} outputs`), table(res.outputs, true));
    parts.push(all);
    results.replaceChildren(...parts);
    for (const fig of res.figures) {
      const div = tw.el("div", {class: "fig"});
      figs.append(div);
      tw.plot(div, fig);
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    runButton.disabled = true;
    results.replaceChildren(tw.el("p", {class: "note"}, "running…"));
    try {
      const resp = await fetch("/ui/calculator/run", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({values: values()})});
      if (!resp.ok) showError(await tw.problem(resp)); else show(await resp.json());
    } catch (e) { showError(String(e)); }
    finally { runButton.disabled = false; }
  });

  document.getElementById("download").addEventListener("click", async () => {
    if (!form.reportValidity()) return;
    const resp = await fetch("/ui/recipe/yaml", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({values: values()})});
    if (!resp.ok) { showError(await tw.problem(resp)); return; }
    const blob = await resp.blob();
    const name = (resp.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const a = tw.el("a", {href: URL.createObjectURL(blob), download: name ? name[1] : "recipe.yaml"});
    document.body.append(a); a.click(); a.remove();
  });

  document.getElementById("upload").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    const resp = await fetch("/ui/recipe/form", {method: "POST", body});
    ev.target.value = "";
    if (!resp.ok) { showError(await tw.problem(resp)); return; }
    document.getElementById("form-fields").innerHTML = await resp.text();
    results.replaceChildren(tw.el("p", {class: "note"}, `loaded ${file.name}; press Run.`));
  });
})();
