"""The precomputed answers of the immutable reads (:mod:`twinline.api.cache`) stay correct:
the cached body is byte-for-byte the uncached rendering, the ETag is stable across requests
and processes and changes with the package version, ``If-None-Match`` gives 304, and errors
are never cached. Nothing here pins a speed."""

from __future__ import annotations

import json

import pytest
from fastapi.responses import JSONResponse

#: (path, query) of every cached read, with the uncached rendering of its body.
CASES = [
    ("/api/v1/catalogue", {}),
    ("/api/v1/catalogue", {"step": "coating"}),
    ("/api/v1/catalogue", {"category": "MP", "online": "true"}),
    ("/api/v1/catalogue", {"q": "POROSITY"}),
    ("/api/v1/catalogue/coating.gap", {}),
    ("/api/v1/catalogue.csv", {}),
    ("/api/v1/catalogue.jsonld", {}),
    ("/api/v1/schema/recipe", {}),
    ("/api/v1/materials", {}),
    ("/api/v1/materials", {"kind": "active_material"}),
    ("/api/v1/materials/NMC111", {}),
    ("/api/v1/materials/nmc111", {}),
]


def uncached_body(path: str, query: dict) -> bytes:
    """The body the endpoint's uncached computation renders (the library, then JSON)."""
    from twinline.api.routes.catalogue import parameter_out, select_parameters
    from twinline.materials import builtin_library
    from twinline.spec.catalogue import catalogue
    from twinline.spec.export import catalogue_csv, catalogue_jsonld, recipe_json_schema

    if path == "/api/v1/catalogue":
        online = {"true": True, "false": False}.get(query.get("online", ""))
        data = select_parameters(query.get("step"), query.get("category"), online, query.get("q"))
    elif path.startswith("/api/v1/catalogue/"):
        data = parameter_out(catalogue()[path.rsplit("/", 1)[1]])
    elif path == "/api/v1/catalogue.csv":
        return catalogue_csv().encode("utf-8")
    elif path == "/api/v1/catalogue.jsonld":
        return json.dumps(catalogue_jsonld()).encode("utf-8")
    elif path == "/api/v1/schema/recipe":
        data = recipe_json_schema()
    elif path == "/api/v1/materials":
        data = [
            m.to_dict()
            for m in builtin_library().values()
            if "kind" not in query or m.kind == query["kind"]
        ]
    else:
        data = builtin_library()[path.rsplit("/", 1)[1]].to_dict()
    return bytes(JSONResponse(data).body)


@pytest.fixture
def fresh_client():
    """A client of a new app (empty answer cache), memory only."""
    from fastapi.testclient import TestClient

    from twinline.api.app import create_app

    def make():
        return TestClient(create_app(), raise_server_exceptions=False)

    return make


@pytest.mark.parametrize(("path", "query"), CASES)
def test_a_cached_answer_is_the_uncached_body_with_a_stable_etag(client, path, query):
    first = client.get(path, params=query)
    second = client.get(path, params=query)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == uncached_body(path, query)
    etag = first.headers["etag"]
    assert etag == second.headers["etag"] and etag.startswith('"') and len(etag) == 34
    assert "max-age" in first.headers["cache-control"]
    assert first.headers["content-type"] == second.headers["content-type"]
    if path in ("/api/v1/catalogue.csv", "/api/v1/catalogue.jsonld"):
        assert "attachment" in second.headers["content-disposition"]


def test_the_catalogue_answers_match_the_library_independently(client):
    """The filters of the cached list agree with Catalogue.select (not the route's code)."""
    from twinline.spec.catalogue import catalogue

    for step in ("coating", "drying", "calendering"):
        for _ in range(2):  # miss, then hit
            ids = [p["id"] for p in client.get("/api/v1/catalogue", params={"step": step}).json()]
            assert ids == [p.id for p in catalogue().select(step=step)]


@pytest.mark.parametrize(("path", "query"), CASES)
def test_if_none_match_gives_304_without_a_body(client, path, query):
    etag = client.get(path, params=query).headers["etag"]
    for header in (etag, f"W/{etag}", f'"0000", {etag}', "*"):
        r = client.get(path, params=query, headers={"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.content == b"" and r.headers["etag"] == etag
    r = client.get(path, params=query, headers={"If-None-Match": '"0123456789abcdef"'})
    assert r.status_code == 200 and r.content == uncached_body(path, query)


def test_different_answers_have_different_etags_and_processes_agree(client, fresh_client):
    tags = {
        client.get("/api/v1/catalogue", params={"step": s}).headers["etag"]
        for s in ("coating", "drying", "mixing")
    }
    assert len(tags) == 3
    # another process (a second uvicorn worker) computes the same tag from scratch
    with fresh_client() as other:
        for path, query in CASES:
            a, b = client.get(path, params=query), other.get(path, params=query)
            assert a.headers["etag"] == b.headers["etag"] and a.content == b.content


def test_a_new_package_version_changes_every_etag_not_the_body(client, fresh_client, monkeypatch):
    import twinline

    before = [client.get(p, params=q) for p, q in CASES]
    monkeypatch.setattr(twinline, "__version__", twinline.__version__ + ".post1")
    with fresh_client() as upgraded:
        for (p, q), old in zip(CASES, before, strict=True):
            r = upgraded.get(p, params=q, headers={"If-None-Match": old.headers["etag"]})
            assert r.status_code == 200, p  # the old tag no longer matches
            assert r.content == old.content
            assert r.headers["etag"] != old.headers["etag"]


def test_errors_are_not_cached_and_carry_no_etag(app, client):
    for _ in range(2):
        r = client.get("/api/v1/catalogue", params={"step": "nope"})
        assert r.status_code == 400 and "unknown step 'nope'" in r.json()["error"]
        assert "etag" not in r.headers
        r = client.get("/api/v1/materials/unobtainium")
        assert r.status_code == 404 and "etag" not in r.headers
    assert len(app.state.answers) == 0
    client.get("/api/v1/catalogue", params={"step": "coating"})
    assert len(app.state.answers) == 1


def test_the_answer_cache_is_a_bounded_lru():
    from twinline.api.cache import AnswerCache, Cached

    cache = AnswerCache(size=3)
    made = []

    def make(k):
        def f():
            made.append(k)
            return Cached.json({"k": k})

        return f

    for k in "abc":
        cache.get(k, make(k))
    cache.get("a", make("a"))  # a hit: a becomes the newest
    cache.get("d", make("d"))  # pushes out b, the oldest
    assert made == ["a", "b", "c", "d"] and len(cache) == 3
    cache.get("b", make("b"))
    assert made[-1] == "b"
    with pytest.raises(ZeroDivisionError):
        cache.get("e", lambda: 1 / 0)
    assert len(cache) == 3


def test_if_none_match_comparison_follows_rfc_9110():
    from twinline.api.cache import etag_of, matches

    tag = etag_of(b"[]", "1.0")
    assert tag != etag_of(b"[]", "1.1") and tag != etag_of(b"[1]", "1.0")
    assert matches(tag, tag) and matches(f"W/{tag}", tag) and matches("*", tag)
    assert matches(f'"x", {tag} , "y"', tag)
    assert not matches(None, tag) and not matches("", tag) and not matches('"x"', tag)
    assert not matches(tag[:-2] + '"', tag)
