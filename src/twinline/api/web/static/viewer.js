// 3D viewer: generate or upload a structure, then move through its slices and view the phases.
"use strict";
(() => {
  const status = document.getElementById("viewer-status");
  const view = document.getElementById("view");
  const axis = document.getElementById("axis");
  const index = document.getElementById("index");
  const indexOut = document.getElementById("index-out");
  const img = document.getElementById("slice");
  let current = null;
  const axisNumber = {z: 0, y: 1, x: 2};

  function say(message, isError) {
    status.className = isError ? "error" : "note";
    status.textContent = isError ? `error: ${message}` : message;
  }

  function showSlice() {
    if (!current) return;
    const a = axis.value;
    const n = current.shape[axisNumber[a]];
    index.max = String(n - 1);
    if (Number(index.value) > n - 1) index.value = String(Math.floor((n - 1) / 2));
    const um = Number(index.value) * current.voxel_size_um;
    indexOut.textContent = `${index.value} / ${n - 1} (${tw.fmt(um)} µm${a === "z" ? " from the current collector" : ""})`;
    img.src = `/ui/viewer/${current.id}/slice.png?axis=${a}&index=${index.value}`;
  }

  function show(s) {
    current = s;
    view.hidden = false;
    const [n0, n1, n2] = s.shape;
    document.getElementById("what").textContent =
      `${s.origin}: ${n0}×${n1}×${n2} voxels of ${s.voxel_size_um} µm (${s.size_um.join(" × ")} µm)`;
    index.value = String(Math.floor((s.shape[axisNumber[axis.value]] - 1) / 2));
    showSlice();
    const t = document.getElementById("analysis");
    t.replaceChildren(tw.el("tr", {}, tw.el("th", {}, "quantity"), tw.el("th", {}, "value"), tw.el("th", {}, "unit")),
      ...s.analysis.map(r => tw.el("tr", {}, tw.el("td", {}, r.label), tw.el("td", {class: "n"}, tw.fmt(r.value)), tw.el("td", {}, tw.unit(r.unit)))));
    document.getElementById("tiff-link").href = `/ui/viewer/${s.id}/structure.tif`;
    tw.plot(document.getElementById("volume"), s.figure);
    say(`phases: pore ${s.phases.pore} %, active material ${s.phases.active_material} %, CBD ${s.phases.carbon_binder_domain} %`);
  }

  async function request(button, url, init) {
    button.disabled = true;
    say("working… (generation and analysis take a few seconds)");
    try {
      const resp = await fetch(url, init);
      if (!resp.ok) say(await tw.problem(resp), true); else show(await resp.json());
    } catch (e) { say(String(e), true); }
    finally { button.disabled = false; }
  }

  document.getElementById("generate").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    if (!f.reportValidity()) return;
    const body = {};
    for (const input of f.querySelectorAll("input[name]")) body[input.name] = Number(input.value);
    request(document.getElementById("gen-button"), "/ui/viewer/generate",
      {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  });

  document.getElementById("upload-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const file = document.getElementById("tiff").files[0];
    if (!file) { say("choose a .tif file first", true); return; }
    const body = new FormData();
    body.append("file", file);
    const voxel = document.getElementById("tiff-voxel").value;
    if (voxel) body.append("voxel_um", voxel);
    request(document.getElementById("upload-button"), "/ui/viewer/upload", {method: "POST", body});
  });

  axis.addEventListener("change", showSlice);
  index.addEventListener("input", showSlice);
})();
