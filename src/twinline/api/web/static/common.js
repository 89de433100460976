// twinline pages: helpers shared by the page scripts (no framework, no network beyond this server).
"use strict";
const tw = {
  el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  },
  // The one-line message of a refused request ({"error": "..."}, the server's error body;
  // FastAPI's own {"detail": ...} forms too).
  async problem(resp) {
    try {
      const body = await resp.json();
      if (typeof body.error === "string") return body.error;
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) {
        return body.detail.map(d => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
      }
    } catch (e) { /* not JSON */ }
    return `${resp.status} ${resp.statusText}`;
  },
  fmt(x) {
    if (x === null || x === undefined) return "–";
    if (typeof x !== "number") return String(x);
    if (x === 0) return "0";
    const a = Math.abs(x);
    return (a >= 1e5 || a < 1e-3) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
  },
  unit(u) {
    if (!u || u === "-") return "–";
    return u.replace("degC", "°C").replace("percent", "%").replace(/\*/g, "·")
      .replace(/\bum\b/g, "µm").replace("^2", "²").replace("^3", "³").replace("^-1", "⁻¹");
  },
  plot(div, fig) {
    const go = () => window.Plotly.newPlot(div, fig.data, fig.layout,
      {responsive: true, displaylogo: false});
    if (window.Plotly) go(); else window.addEventListener("load", go, {once: true});
  },
};
