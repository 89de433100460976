"""First-run (numba compilation) overhead of `structure analyse`, fresh cache vs warm cache.

For each size, a cubic electrode image (0.5 µm voxels, porosity 0.35, 95 wt % AM) is analysed
in full (pore and solid tortuosity factors along axis 0, σ_eff, surfaces, percolation, pore
sizes) in two separate processes sharing one new, empty ``NUMBA_CACHE_DIR``: the first
compiles and caches the kernels, the second loads them. Each process analyses the image
twice; the second analysis in the same process is the pure compute time.

    python benchmarks/bench_first_run.py [--sizes 128,256] [--src SRC] [--json OUT]

``--src`` runs another source tree (e.g. an older checkout's ``src``) for a before/after.
Prints a table; wall and CPU seconds with the load average (the figures depend on it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(image: str) -> None:
    t0 = time.perf_counter()
    import numpy as np

    from twinline.structure.analyse import analyse

    labels = np.load(image)
    t1, c1 = time.perf_counter(), time.process_time()
    analyse(labels, voxel_size=5e-7)
    t2, c2 = time.perf_counter(), time.process_time()
    analyse(labels, voxel_size=5e-7)
    t3, c3 = time.perf_counter(), time.process_time()
    print(json.dumps({"import_s": t1 - t0, "first_s": t2 - t1, "first_cpu_s": c2 - c1,
                      "again_s": t3 - t2, "again_cpu_s": c3 - c2}))


def run(image: Path, cache: Path, src: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, __file__, "--child", str(image)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="128,256")
    ap.add_argument("--src", default=str(HERE.parent / "src"))
    ap.add_argument("--json", dest="json_out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child)
        return
    import numpy as np

    sys.path.insert(0, a.src)
    from twinline.structure.generate import generate_electrode

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in a.sizes.split(",")):
            img = Path(tmp) / f"img{n}.npy"
            m = generate_electrode(porosity=0.35, am_mass_fraction=0.95, thickness=n * 0.5e-6,
                                   voxel_size=0.5e-6, box_xy=n * 0.5e-6, seed=1)
            np.save(img, m.labels)
            cache = Path(tmp) / f"cache{n}"
            load0 = os.getloadavg()[0]
            fresh = run(img, cache, Path(a.src))
            warm = run(img, cache, Path(a.src))
            load1 = os.getloadavg()[0]
            rows.append({"size": n, "fresh": fresh, "warm": warm,
                         "ratio": fresh["first_s"] / warm["first_s"],
                         "cpu_ratio": fresh["first_cpu_s"] / warm["first_cpu_s"],
                         "load": [load0, load1]})
    print("| size | first analysis, fresh cache | first analysis, warm cache | ratio (wall) |"
          " CPU s fresh / warm (ratio) | same process again | load |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        f, w = r["fresh"], r["warm"]
        print(f"| {r['size']}³ | {f['first_s']:.1f} s | {w['first_s']:.1f} s | "
              f"{r['ratio']:.2f}× | {f['first_cpu_s']:.1f} / {w['first_cpu_s']:.1f} "
              f"({r['cpu_ratio']:.2f}×) | {w['again_s']:.1f} s | "
              f"{r['load'][0]:.1f}–{r['load'][1]:.1f} |")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
