"""references.bib: well formed, unique keys, and the keys the material library cites."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from twinline.materials import builtin_library


@pytest.fixture(scope="module")
def bib() -> dict[str, str]:
    text = resources.files("twinline").joinpath("references.bib").read_text("utf-8")
    entries = re.split(r"(?m)^@", text)[1:]
    out: dict[str, str] = {}
    for e in entries:
        m = re.match(r"(\w+)\{([^,\s]+),", e)
        assert m, e[:60]
        key = m.group(2)
        assert key not in out, f"duplicate BibTeX key {key}"
        out[key] = e
    return out


def test_entries_have_title_and_year(bib):
    for key, entry in bib.items():
        assert re.search(r"\btitle\s*=", entry), key
        assert re.search(r"\byear\s*=\s*\{?\d{4}", entry), key


def test_seed_papers_and_parameter_sets_are_cited(bib):
    for key in ("Zanotto2022", "Duquesnoy2020", "Troncoso2024", "Meyer2017", "Chen2020",
                "Prada2013", "Ecker2015", "Mohtat2020"):
        assert key in bib


def test_library_sources_name_existing_keys(bib):
    # a source like "Meyer2017 (...)" names a key; every CamelCaseYYYY token must exist
    token = re.compile(r"\b([A-Z][A-Za-z]+(?:19|20)\d\d)\b")
    for m in builtin_library().values():
        for prop, src in m.sources.items():
            for key in token.findall(src):
                if key.startswith(("CRC", "NIST")):
                    continue
                assert key in bib, f"{m.name}.{prop} cites {key}, not in references.bib"
