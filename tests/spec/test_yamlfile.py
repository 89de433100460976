"""The YAML reader's two parsers agree: libyaml's event parser (the fast path) and PyYAML's
pure-Python one give the same data for every YAML file twinline ships, the same limit
errors for hostile text, and errors keep PyYAML's own line, column and wording."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from twinline.spec import yamlfile
from twinline.spec.errors import RecipeError
from twinline.spec.yamlfile import _loader_class, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    [*ROOT.joinpath("examples").glob("*.yaml"), *ROOT.joinpath("src", "twinline").rglob("*.yaml")]
)

needs_libyaml = pytest.mark.skipif(
    yamlfile._libyaml_base() is None, reason="PyYAML built without libyaml"
)

HOSTILE = {
    "aliases": "a: &a [1]\n" + "".join(f"k{i}: *a\n" for i in range(101)),
    "bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "deep": "[" * 101 + "]" * 101,
    "duplicate": "a: 1\nb: 2\na: 3\n",
    "unclosed": "cathode: [unclosed",
    "mapping": "a: b: c",
    "tab": "a:\n\t- 1",
    "python tag": "a: !!python/object/apply:os.system [echo hi]",
}


def _message(text: str) -> str:
    with pytest.raises(RecipeError) as err:
        parse_yaml(text, "x.yaml")
    return str(err.value)


def test_every_shipped_yaml_file_reads_the_same_with_both_parsers():
    assert len(SHIPPED) >= 5
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        pure = yaml.load(text, Loader=_loader_class())
        assert yaml.load(text, Loader=_loader_class(fast=True)) == pure, path
        assert parse_yaml(text, path.name) == pure, path


@needs_libyaml
def test_the_fast_loader_parses_with_libyaml_and_keeps_the_limit_hooks():
    from yaml._yaml import CParser

    fast = _loader_class(fast=True)
    assert issubclass(fast, CParser) and fast is not _loader_class()
    for name in ("aliases", "bomb", "deep", "duplicate"):
        with pytest.raises(yamlfile._LimitError):
            yaml.load(HOSTILE[name], Loader=fast)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_errors_are_pyyamls_whichever_parser_read_first(name, monkeypatch):
    got = _message(HOSTILE[name])
    monkeypatch.setattr(yamlfile, "_libyaml_base", lambda: None)
    _loader_class.cache_clear()
    try:
        assert _message(HOSTILE[name]) == got
    finally:
        monkeypatch.undo()
        _loader_class.cache_clear()
    assert got.startswith("x.yaml: ")


def test_a_malformed_line_is_named_where_pyyaml_sees_it():
    # libyaml alone would say line 2, column 1 ("did not find expected ',' or ']'")
    assert _message(HOSTILE["unclosed"]) == (
        "x.yaml: malformed YAML at line 1, column 19: expected ',' or ']', but got '<stream end>'"
    )
