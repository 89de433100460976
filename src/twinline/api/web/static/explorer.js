// Catalogue explorer: filter the server-rendered table by step, category, online/offline and text.
"use strict";
(() => {
  const rows = Array.from(document.querySelectorAll("#catalogue tbody tr"));
  const text = rows.map(r => r.textContent.toLowerCase());
  const q = document.getElementById("q");
  const step = document.getElementById("step");
  const category = document.getElementById("category");
  const online = document.getElementById("online");
  const count = document.getElementById("count");

  function apply() {
    const words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    rows.forEach((r, i) => {
      const ok = (!step.value || r.dataset.step === step.value)
        && (!category.value || r.dataset.category === category.value)
        && (!online.value || r.dataset.online === online.value)
        && words.every(w => text[i].includes(w));
      r.hidden = !ok;
      if (ok) shown += 1;
    });
    count.textContent = `${shown} of ${rows.length} parameters`;
  }
  for (const c of [q, step, category, online]) c.addEventListener("input", apply);
  apply();
})();
