"""Load and faults of the server (``twinline serve``'s app under uvicorn on 127.0.0.1).

    python benchmarks/bench_api.py [--duration 30] [--workers 1] [--load-only] [--json]

The server is ``twinline serve --db <tmp> --workers N`` (a real process on a free port).

1. GET ``/api/v1/catalogue?step=coating`` and ``/api/v1/materials/NMC111``: requests/s and
   p99 latency with a local load generator (``wrk`` when installed — ``apt-get install
   wrk`` — else httpx async clients in this process) for ``--duration`` seconds each.
   Target >= 1000 req/s on 2 cores.
2. POST ``/api/v1/runs`` of the ARTISTIC NMC111 cathode (deterministic, YAML body, bearer
   token): runs/s and p99. Target >= 50 runs/s.

For each load case the **CPU time of the server per request** is printed too: user + system
time of the server's processes (``/proc/<pid>/stat`` of the server and its worker
processes) over the case, divided by the requests answered. On a machine others share,
requests/s follow the load average; CPU ms/request does not (much): 1000 req/s on 2 cores
means <= 2 ms per GET, 50 runs/s <= 40 ms per run (server side, the load generator
apart). The load generator's own CPU per request is printed beside it ("gen"), and
"CPU-bound req/s" = min(CPUs x 1000 / (server + generator ms per request), server processes
x 1000 / server ms per request): the rate the machine would reach if the two had its cores
to themselves (one server process uses one core at most).
3. 100 concurrent clients polling ``/api/v1/jobs/{id}`` while 4 Monte Carlo jobs (100 000
   samples each) run: errors and lost jobs (target 0 and 0).
4. Faults: a server killed (SIGKILL) during a job and restarted on the same database
   reports that job failed; ``Store.check()`` finds the database healthy.

The load generator shares the 2 cores with the server: figures are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RECIPE = (ROOT / "examples" / "nmc111_cathode.yaml").read_text(encoding="utf-8")
TOKEN = "bench-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "TWINLINE_API_TOKEN": TOKEN,
           "PYTHONPATH": str(ROOT / "src"), "PYBAMM_OPTOUT_TELEMETRY": "true"}
    cmd = [sys.executable, "-c", "from twinline.cli import main; main()", "serve", "--db",
           str(db), "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 90:
        try:
            if httpx.get(f"{base}/api/v1/materials", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.3)
    stop(proc)
    raise SystemExit("the server did not start within 90 s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def server_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time [s] of process ``pid`` and all its descendants (Linux
    ``/proc``; ``None`` elsewhere)."""
    proc = Path("/proc")
    if not (proc / str(pid) / "stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:   # ended meanwhile
            continue
        f = stat[stat.rindex(")") + 2:].split()   # fields after "pid (comm)"
        parent[int(d.name)] = int(f[1])
        cpu[int(d.name)] = (int(f[11]) + int(f[12])) / tick
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo += [c for c, pp in parent.items() if pp == p and c not in tree]
    return sum(cpu.get(p, 0.0) for p in tree)


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def wrk(url: str, duration: int, connections: int, script: str | None = None) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True,
                         timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "requests": total, "p99_ms": p99,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else ""}


async def _httpx_load(method: str, url: str, duration: int, connections: int,
                      **kw) -> dict:
    lat: list[float] = []
    bad = 0
    stop_at = time.monotonic() + duration
    async with httpx.AsyncClient(timeout=10) as client:
        async def one() -> None:
            nonlocal bad
            while time.monotonic() < stop_at:
                t = time.perf_counter()
                r = await client.request(method, url, **kw)
                lat.append((time.perf_counter() - t) * 1000)
                bad += r.status_code >= 300
        await asyncio.gather(*(one() for _ in range(connections)))
    lat.sort()
    return {"rps": len(lat) / duration, "requests": len(lat),
            "p99_ms": lat[int(0.99 * (len(lat) - 1))],
            "non2xx": bad, "socket_errors": ""}


def load(method: str, url: str, duration: int, connections: int, *, body: str | None = None,
         headers: dict | None = None, server: int | None = None) -> dict:
    """One load case; with ``server`` (its pid) also the server's CPU ms per request and
    the 1-minute load average before and after."""
    cpu0, la0 = (server_cpu_seconds(server) if server else None), os.getloadavg()[0]
    gen0 = _generator_cpu_seconds()
    res = _load(method, url, duration, connections, body=body, headers=headers)
    gen1 = _generator_cpu_seconds()
    cpu1 = server_cpu_seconds(server) if server else None
    n = res["requests"]
    res["cpu_ms_per_request"] = (None if cpu0 is None or cpu1 is None or not n
                                 else (cpu1 - cpu0) / n * 1000)
    res["generator_cpu_ms_per_request"] = (gen1 - gen0) / n * 1000 if n else None
    res["load_average"] = (la0, os.getloadavg()[0])
    return res


def _generator_cpu_seconds() -> float:
    """CPU time [s] of the load generator: wrk (a finished child) or this process."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _load(method: str, url: str, duration: int, connections: int, *, body: str | None = None,
          headers: dict | None = None) -> dict:
    if shutil.which("wrk"):
        script = None
        if method != "GET":
            lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
            lines = [f'wrk.method = "{method}"',
                     f"wrk.body = {json.dumps(body, ensure_ascii=False)}"]
            lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
            lua.write("\n".join(lines) + "\n")
            lua.close()
            script = lua.name
        res = wrk(url, duration, connections, script)
        res["tool"] = f"wrk -t2 -c{connections}"
        return res
    res = asyncio.run(_httpx_load(method, url, duration, connections,
                                  content=body, headers=headers))
    res["tool"] = f"httpx async x{connections}"
    return res


async def poll_jobs(base: str, n_jobs: int = 4, clients: int = 100) -> dict:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=clients)) as c:
        ids = []
        for i in range(n_jobs):
            r = await c.post(f"{base}/api/v1/runs?samples=100000&seed={i}", content=RECIPE,
                             headers={**AUTH, "Content-Type": "application/yaml"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        errors, polls = 0, 0
        final: dict[str, str] = {}
        t0 = time.monotonic()

        async def client(k: int) -> None:
            nonlocal errors, polls
            while time.monotonic() - t0 < 300:
                job = ids[k % n_jobs]
                r = await c.get(f"{base}/api/v1/jobs/{job}")
                polls += 1
                if r.status_code != 200:
                    errors += 1
                    return
                state = r.json()["state"]
                if state in ("done", "failed"):
                    final[job] = state
                    return
                await asyncio.sleep(0.05)

        await asyncio.gather(*(client(k) for k in range(clients)))
        lost = sum(final.get(j) != "done" for j in ids)
        return {"jobs": n_jobs, "clients": clients, "polls": polls, "errors": errors,
                "lost_or_failed": lost, "seconds": time.monotonic() - t0}


def kill_during_job(db: Path) -> dict:
    proc, base = start(db, 1)
    r = httpx.post(f"{base}/api/v1/runs?structure=true", content=RECIPE, timeout=30,
                   headers={**AUTH, "Content-Type": "application/yaml"})
    job = r.json()["id"]
    time.sleep(2)
    state_before = httpx.get(f"{base}/api/v1/jobs/{job}").json()["state"]
    stop(proc, signal.SIGKILL)
    proc, base = start(db, 1)
    try:
        after = httpx.get(f"{base}/api/v1/jobs/{job}").json()
    finally:
        stop(proc)
    sys.path.insert(0, str(ROOT / "src"))
    from twinline.twin.store import Store

    with Store.open(db) as store:
        problems = store.check()
    return {"state_before_kill": state_before, "state_after_restart": after["state"],
            "message": after["message"], "store_problems": problems}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=30, help="seconds per load case")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--load-only", action="store_true",
                    help="only the three load cases (no job polling, no kill -9)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="twinline-bench-api-"))
    rows = []
    jobs = fault = None
    proc, base = start(tmp / "line.db", a.workers)
    try:
        # one of each first: the catalogue, the library and the chain are loaded lazily
        httpx.post(base + "/api/v1/runs", content=RECIPE, timeout=120,
                   headers={**AUTH, "Content-Type": "application/yaml"})
        for name, url in (("GET catalogue?step=coating", "/api/v1/catalogue?step=coating"),
                          ("GET materials/NMC111", "/api/v1/materials/NMC111")):
            httpx.get(base + url, timeout=30)
            rows.append((name, load("GET", base + url, a.duration, a.connections,
                                    server=proc.pid), 1000))
        rows.append(("POST runs (NMC111 cathode, YAML)",
                     load("POST", base + "/api/v1/runs", a.duration, 8, body=RECIPE,
                          headers={**AUTH, "Content-Type": "application/yaml"},
                          server=proc.pid), 50))
        if not a.load_only:
            jobs = asyncio.run(poll_jobs(base))
    finally:
        stop(proc)
    if not a.load_only:
        fault = kill_during_job(tmp / "fault.db")
    if a.json:
        print(json.dumps({"rows": [{"case": n, **r, "target": t} for n, r, t in rows],
                          "jobs": jobs, "fault": fault, "workers": a.workers,
                          "cpus": os.cpu_count()}, indent=2))
        return
    print(f"twinline serve --workers {a.workers}; {os.cpu_count()} CPUs; load average now "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':34} {'req/s':>7} {'p99 ms':>8} {'CPU ms/req':>10} {'gen ms/req':>10} "
          f"{'CPU-bound req/s':>15} {'non-2xx':>8} {'target':>6} {'load avg':>11}  tool")
    for name, r, target in rows:
        cpu, gen = r["cpu_ms_per_request"], r["generator_cpu_ms_per_request"]
        # what the CPUs could answer if the server and the load generator had them alone
        # (a server process uses one core at most: the GIL)
        cores = os.cpu_count() or 1
        bound = (min(cores * 1000 / (cpu + gen), min(a.workers or cores, cores) * 1000 / cpu)
                 if cpu and gen else None)
        print(f"{name:34} {r['rps']:7.0f} {r['p99_ms']:8.1f} "
              f"{'n/a' if cpu is None else f'{cpu:.2f}':>10} "
              f"{'n/a' if gen is None else f'{gen:.2f}':>10} "
              f"{'n/a' if bound is None else f'{bound:.0f}':>15} {r['non2xx']:8d} {target:>6} "
              f"{r['load_average'][0]:5.1f}-{r['load_average'][1]:<5.1f}  {r['tool']} "
              f"{r['socket_errors']}")
    if jobs is not None:
        print(f"jobs: {jobs}")
        print(f"kill -9 during a job: {fault}")


if __name__ == "__main__":
    main()
