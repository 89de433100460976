"""Every endpoint of /api/v1 through FastAPI's TestClient, and each class of bad input."""

from __future__ import annotations

import io
import json

import pytest
from tests.api.conftest import AUTH, YAML


def test_catalogue_list_filter_and_one(client):
    from twinline.spec.catalogue import catalogue

    r = client.get("/api/v1/catalogue")
    assert r.status_code == 200
    assert len(r.json()) == len(catalogue())
    coating = client.get("/api/v1/catalogue", params={"step": "coating"}).json()
    assert coating and {p["step"] for p in coating} == {"coating"}
    assert len(coating) == len(catalogue().select(step="coating"))
    online_mp = client.get("/api/v1/catalogue",
                           params={"category": "MP", "online": "true"}).json()
    assert online_mp and all(p["category"] == "MP" and p["online"] for p in online_mp)
    q = client.get("/api/v1/catalogue", params={"q": "POROSITY"}).json()
    assert q and all("porosity" in (p["id"] + p["name"] + p["measured_by"]).lower()
                     for p in q)
    pid = coating[0]["id"]
    one = client.get(f"/api/v1/catalogue/{pid}").json()
    assert one == coating[0]


def test_catalogue_exports_and_recipe_schema(client):
    from twinline.spec.export import catalogue_csv, recipe_json_schema

    csv = client.get("/api/v1/catalogue.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text == catalogue_csv()
    ld = client.get("/api/v1/catalogue.jsonld")
    assert ld.headers["content-type"].startswith("application/ld+json")
    assert "@graph" in json.loads(ld.text)
    assert client.get("/api/v1/schema/recipe").json() == recipe_json_schema()


@pytest.mark.parametrize(("url", "status", "needle"), [
    ("/api/v1/catalogue/coating.nope", 404, "unknown parameter 'coating.nope'"),
    ("/api/v1/catalogue?step=nope", 400, "unknown step 'nope'"),
    ("/api/v1/catalogue?category=XX", 422, "category"),
    ("/api/v1/catalogue?online=maybe", 422, "online"),
    ("/api/v1/materials/unobtainium", 404, "unknown material 'unobtainium'"),
    ("/api/v1/materials?kind=cheese", 422, "unknown kind 'cheese'"),
    ("/api/v1/jobs/nope", 404, "job 'nope' is not known"),
    ("/api/v1/runs/nope", 404, "job 'nope' is not known"),
    ("/api/v1/line/objects/NOPE-1/trace", 404, "object 'NOPE-1' is not in the store"),
    ("/api/v1/line/objects?kind=widget", 400, "object kind 'widget' is unknown"),
    ("/api/v1/no/such/path", 404, "Not Found"),
])
def test_bad_reads_are_4xx_with_one_line_json(client, url, status, needle):
    r = client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert needle in body["error"] and "\n" not in body["error"]
    assert "Traceback" not in r.text


def test_materials_list_and_one_with_sources(client):
    from twinline.materials import builtin_library

    mats = client.get("/api/v1/materials").json()
    assert sorted(m["name"] for m in mats) == sorted(builtin_library())
    ams = client.get("/api/v1/materials", params={"kind": "active_material"}).json()
    assert ams and all(m["kind"] == "active_material" for m in ams)
    nmc = client.get("/api/v1/materials/nmc111").json()   # case-insensitive like the CLI
    assert nmc["name"] == "NMC111"
    dens = nmc["properties"]["density"]
    assert dens["unit"] == "kg/m^3" and dens["source"]
    assert dens["value"] == pytest.approx(builtin_library()["NMC111"]["density"])


def test_post_run_yaml_and_json_give_the_cli_s_record(client, recipe_yaml):
    from twinline.chain import run_chain
    from twinline.spec.recipe import parse_recipe
    from twinline.spec.yamlfile import parse_yaml

    r = client.post("/api/v1/runs", content=recipe_yaml, headers={**AUTH, **YAML})
    assert r.status_code == 200, r.text
    out = r.json()
    expected = run_chain(parse_recipe(parse_yaml(recipe_yaml, "x"), "x"))
    key = "cathode.calendering.porosity"
    assert out["run"]["outputs"][key]["value"] == pytest.approx(expected.outputs[key]["value"])
    data = parse_yaml(recipe_yaml, "x")
    r2 = client.post("/api/v1/runs", json=data, headers=AUTH)
    assert r2.status_code == 200
    assert r2.json()["run"]["outputs"] == out["run"]["outputs"]
    got = client.get(out["url"]).json()
    assert got["run"]["outputs"] == out["run"]["outputs"] and got["id"] == out["id"]
    rep = client.get(out["report_url"])
    assert rep.status_code == 200 and rep.headers["content-type"].startswith("text/html")
    assert expected.recipe_name in rep.text
    tif = client.get(f"/api/v1/runs/{out['id']}/structure.tif")
    assert tif.status_code == 404 and "no 3D structure" in tif.json()["error"]


@pytest.mark.parametrize(("body", "ctype", "status", "needle"), [
    ("{not json", "application/json", 422, "request body: not valid JSON (line 1"),
    ("[1, 2]", "application/json", 422, "a recipe must be a mapping"),
    ("a: [unclosed", "application/yaml", 422, "request body"),
    ("name: x\n", "text/yaml", 422, "a recipe needs a 'cathode' or an 'anode'"),
    ("x", "text/html", 415, "Content-Type 'text/html'"),
    ("a: &a [1]\n" + "".join(f"b{i}: *a\n" for i in range(120)), "application/yaml", 422,
     "more than 100 YAML aliases"),
])
def test_bad_recipes_are_4xx_with_the_cli_s_message(client, body, ctype, status, needle):
    r = client.post("/api/v1/runs", content=body, headers={**AUTH, "Content-Type": ctype})
    assert r.status_code == status, r.text
    assert needle in r.json()["error"] and "\n" not in r.json()["error"]


def test_a_recipe_may_not_name_server_files(client, recipe_yaml):
    r = client.post("/api/v1/runs", content="materials_files: [/etc/passwd]\n" + recipe_yaml,
                    headers={**AUTH, **YAML})
    assert r.status_code == 422
    assert "materials_files = ['/etc/passwd']: the server reads no files" in r.json()["error"]


def test_a_recipe_error_names_the_parameter(client, recipe_yaml):
    bad = recipe_yaml.replace("cathode:", "cathode:\n  bogus_key: 3", 1)
    r = client.post("/api/v1/runs", content=bad, headers={**AUTH, **YAML})
    assert r.status_code == 422
    assert "request body: cathode.bogus_key: unknown parameter 'bogus_key'" in r.json()["error"]


@pytest.mark.parametrize(("query", "needle"), [
    ("samples=-1", "samples"), ("samples=2000000", "samples"), ("seed=x", "seed"),
    ("structure=perhaps", "structure"),
])
def test_bad_run_options_are_422(client, recipe_yaml, query, needle):
    r = client.post(f"/api/v1/runs?{query}", content=recipe_yaml, headers={**AUTH, **YAML})
    assert r.status_code == 422 and needle in r.json()["error"]


def _csv(rows):
    import pandas as pd

    return pd.DataFrame(rows).to_csv(index=False)


def test_line_ingest_csv_json_parquet_idempotent_and_read_back(client):
    import pandas as pd

    from twinline.twin.ingest.files import synthetic_long_table

    table = synthetic_long_table(50, seed=1, per_roll=25)
    body = table.to_csv(index=False)
    h = {**AUTH, "Content-Type": "text/csv"}
    first = client.post("/api/v1/line/ingest?name=gauges.csv", content=body, headers=h)
    assert first.status_code == 200, first.text
    assert first.json()["new"] == len(table) and first.json()["already"] == 0
    again = client.post("/api/v1/line/ingest?name=gauges.csv", content=body, headers=h)
    assert again.json()["new"] == 0 and again.json()["already"] == len(table)
    stats = client.get("/api/v1/line/stats").json()
    assert stats["settings"] + stats["measurements"] == len(table)
    rolls = client.get("/api/v1/line/objects", params={"kind": "coated_roll"}).json()
    assert {o["object"] for o in rolls} == set(table.loc[table.kind == "coated_roll", "object"])
    roll = rolls[0]["object"]
    trace = client.get(f"/api/v1/line/objects/{roll}/trace").json()
    assert trace[0]["object"] == roll and trace[1]["kind"] == "slurry_batch"
    track = client.get(f"/api/v1/line/objects/{trace[1]['object']}/track").json()
    assert roll in {e["object"] for e in track}
    # JSON rows and Parquet: same checks, same idempotency
    rows = [{"time": "2026-02-01T00:00:00Z", "object": "SB-J", "kind": "slurry_batch",
             "parent": None, "parameter": "cathode.mixing.solid_content", "value": 64.5,
             "unit": "%", "role": "setting", "conditions": ""}]
    j = client.post("/api/v1/line/ingest?name=rows", json=rows, headers=AUTH)
    assert j.status_code == 200 and j.json()["new"] == 1
    buf = io.BytesIO()
    pd.DataFrame([{**rows[0], "object": "SB-P", "parent": "", "value": "64.5"}]).to_parquet(buf)
    p = client.post("/api/v1/line/ingest?name=more.parquet", content=buf.getvalue(),
                    headers={**AUTH, "Content-Type": "application/vnd.apache.parquet"})
    assert p.status_code == 200 and p.json()["new"] == 1


def test_line_ingest_bad_rows_store_nothing(client):
    rows = [{"time": "2026-02-01T00:00:00Z", "object": "SB-1", "kind": "slurry_batch",
             "parent": "", "parameter": "cathode.mixing.solid_content", "value": "64",
             "unit": "%", "role": "setting", "conditions": ""},
            {"time": "2026-02-01T00:00:00Z", "object": "SB-2", "kind": "slurry_batch",
             "parent": "", "parameter": "cathode.mixing.solid_content", "value": "64",
             "unit": "kg", "role": "setting", "conditions": ""}]
    r = client.post("/api/v1/line/ingest?name=batch.csv", content=_csv(rows),
                    headers={**AUTH, "Content-Type": "text/csv"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err.startswith("batch.csv:3: ") and "nothing of batch.csv was stored" in err
    assert client.get("/api/v1/line/stats").json()["objects"] == 0
    for body, ctype, needle in (("", "text/csv", "empty"), ("[]", "application/json",
                                                            "non-empty JSON list"),
                                ("x", "image/png", "Content-Type 'image/png'")):
        r = client.post("/api/v1/line/ingest", content=body,
                        headers={**AUTH, "Content-Type": ctype})
        assert 400 <= r.status_code < 500 and needle in r.json()["error"]
    r = client.post("/api/v1/line/ingest?name=../../etc/x", content="a",
                    headers={**AUTH, "Content-Type": "text/csv"})
    assert r.status_code == 422 and "a file name without folders" in r.json()["error"]


def test_line_endpoints_without_a_database_say_so():
    from fastapi.testclient import TestClient

    from twinline.api.app import create_app

    with TestClient(create_app()) as c:
        r = c.get("/api/v1/line/stats")
        assert r.status_code == 404 and "twinline serve --db" in r.json()["error"]


def test_an_internal_error_is_a_generic_json_500_without_traceback(app, client, monkeypatch):
    import twinline.api.routes.materials as mod

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(mod, "material_out", boom)
    mod._all.cache_clear()
    try:
        r = client.get("/api/v1/materials")
    finally:
        monkeypatch.undo()
        mod._all.cache_clear()
    assert r.status_code == 500
    assert r.json() == {"error": "internal error; the server's log has the details"}
    assert "secret" not in r.text and "Traceback" not in r.text


def test_openapi_and_docs_are_served(client):
    doc = client.get("/openapi.json").json()
    paths = set(doc["paths"])
    for p in ("/api/v1/catalogue", "/api/v1/catalogue/{parameter_id}", "/api/v1/catalogue.csv",
              "/api/v1/catalogue.jsonld", "/api/v1/schema/recipe", "/api/v1/materials",
              "/api/v1/materials/{name}", "/api/v1/runs", "/api/v1/runs/{run_id}",
              "/api/v1/runs/{run_id}/report", "/api/v1/runs/{run_id}/structure.tif",
              "/api/v1/jobs/{job_id}", "/api/v1/structure", "/api/v1/structure/analyse",
              "/api/v1/line/ingest", "/api/v1/line/objects",
              "/api/v1/line/objects/{object_id}/trace",
              "/api/v1/line/objects/{object_id}/track", "/api/v1/line/stats"):
        assert p in paths, p
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200
