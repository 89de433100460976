"""Hostile recipes and arguments: bounded time, memory and message length (issue 13, items 1-2).

Each case asserts exit code 2, one ``error:`` line on stderr, no traceback and nothing
written to ``--out``.
"""

from __future__ import annotations

import sys
import time

import pytest

from cli.clikit import CATHODE, cli_error, nothing_written, one_line_error, run_subprocess
from twinline.spec.errors import MAX_LINE, MaterialError, RecipeError, one_line, quote
from twinline.spec.recipe import load_recipe, parse_recipe
from twinline.spec.yamlfile import MAX_BYTES, read_yaml


def _with_description(tmp_path, block: str, name: str = "hostile.yaml"):
    """The example recipe with its description replaced by ``block`` (YAML text)."""
    text = CATHODE.read_text("utf-8")
    assert "\ndescription:" in text
    f = tmp_path / name
    f.write_text(text.replace("\ndescription:", "\n" + block + "\nold_description:", 1)
                 .replace("old_description:", "# old description:", 1), "utf-8")
    return f


def _bomb(levels: int = 9, width: int = 9) -> str:
    """'Billion laughs': ``levels`` nested lists of ``width`` aliases (width**levels strings)."""
    items = ['&l0 "lol"'] + [f"&l{i} [{', '.join([f'*l{i - 1}'] * width)}]"
                              for i in range(1, levels + 1)]
    return "description:\n" + "".join(f"  - {it}\n" for it in items)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is a Linux limit")
def test_alias_bomb_is_refused_fast_with_bounded_memory(tmp_path):
    bomb = _with_description(tmp_path, _bomb(), "bomb.yaml")
    out = tmp_path / "out"
    proc, wall = run_subprocess("run", bomb, "--out", out, timeout=60, max_memory=2 << 30)
    line = one_line_error(proc.returncode, proc.stdout, proc.stderr)
    assert "bomb.yaml" in line and "aliases expand to more than" in line, line
    assert nothing_written(out)
    assert wall < 30, wall   # process start-up included; before the fix: 89-130 s or a crash


def test_alias_bomb_loading_takes_under_two_seconds(tmp_path):
    bomb = _with_description(tmp_path, _bomb(), "bomb.yaml")
    t0 = time.perf_counter()
    with pytest.raises(RecipeError, match="aliases expand"):
        load_recipe(bomb)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(("block", "expected"), [
    ("description: [&a x, " + ", ".join(["*a"] * 101) + "]", "more than 100 YAML aliases"),
    ("description: &a [*a]", "alias refers to itself"),
    ("description: " + "[" * 5000 + "]" * 5000, "nested more than 100 levels"),
])
def test_alias_count_self_reference_and_depth_are_refused(tmp_path, block, expected):
    f = _with_description(tmp_path, block)
    line = cli_error("run", f, "--out", tmp_path / "out")
    assert "hostile.yaml" in line and expected in line, line
    assert nothing_written(tmp_path / "out")


def test_a_few_aliases_are_still_fine(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text("a: &x [1, 2]\nb: *x\nc: *x\n", "utf-8")
    assert read_yaml(f) == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}


def test_file_over_the_size_cap_is_refused_naming_size_and_cap(tmp_path):
    # a recipe with a 50 MB string value (issue 13 item 2): refused by its size, not echoed
    f = _with_description(tmp_path, "description: " + "a" * 50_000_000, "huge.yaml")
    line = cli_error("run", f, "--out", tmp_path / "out")
    assert "huge.yaml" in line and "47.7 MiB" in line and "1 MiB" in line, line
    assert len(line) < 400
    assert nothing_written(tmp_path / "out")


def test_materials_file_over_the_cap_is_refused(tmp_path):
    f = tmp_path / "big_materials.yaml"
    f.write_bytes(b"materials: {}\n" + b"#" * MAX_BYTES)
    line = cli_error("materials", "list", "--materials", f)
    assert "big_materials.yaml" in line and "materials file" in line and "limit" in line
    with pytest.raises(MaterialError, match="over the 1 MiB"):
        read_yaml(f, what="materials file", error=MaterialError)


def test_long_value_under_the_cap_is_quoted_elided(tmp_path):
    text = CATHODE.read_text("utf-8")
    assert "gap: 300 um" in text
    f = tmp_path / "long_gap.yaml"
    f.write_text(text.replace("gap: 300 um", "gap: " + "9" * 900_000 + " um"), "utf-8")
    line = cli_error("run", f, "--out", tmp_path / "out")
    assert "coating.gap" in line and "characters]…" in line, line[:300]
    assert len(line) < 1000
    assert nothing_written(tmp_path / "out")


def test_50_mb_value_through_the_python_api_gives_a_short_message():
    with pytest.raises(RecipeError) as err:
        parse_recipe({"name": "x", "cathode": {"coating": {"gap": "a" * 50_000_000}}}, "api")
    assert len(str(err.value)) < 2000 and "[49,999,800 characters]" in str(err.value)


def test_100_kB_material_name_is_not_echoed_whole(tmp_path):
    text = CATHODE.read_text("utf-8")
    assert "material: NMC111" in text
    f = tmp_path / "long_name.yaml"
    f.write_text(text.replace("material: NMC111", "material: " + "N" * 100_000), "utf-8")
    out = tmp_path / "out"
    t0 = time.perf_counter()
    line = cli_error("run", f, "--out", out)
    assert time.perf_counter() - t0 < 10
    assert "unknown material" in line and "[99,800 characters]" in line, line[:300]
    assert len(line) < 1000
    assert nothing_written(out)


def test_unknown_key_with_long_name_and_value_is_elided(tmp_path):
    # an explicit key ("? key"): a plain YAML key may not be longer than 1024 characters
    f = _with_description(tmp_path, "? " + "k" * 300_000 + "\n: " + "v" * 300_000)
    line = cli_error("run", f, "--out", tmp_path / "out")
    assert "unknown parameter" in line and len(line) < 1500, line[:300]


def test_power_tower_in_a_value_is_refused_at_once(tmp_path):
    text = CATHODE.read_text("utf-8")
    f = tmp_path / "tower.yaml"
    f.write_text(text.replace("gap: 300 um", "gap: 10**10**10 um"), "utf-8")
    t0 = time.perf_counter()
    line = cli_error("run", f, "--out", tmp_path / "out")
    assert time.perf_counter() - t0 < 10
    assert "coating.gap" in line and "power" in line, line


def test_quote_keeps_short_values_and_elides_long_ones():
    assert quote("NMC111") == "'NMC111'"
    q = quote("a" * 50_000_000)
    assert len(q) < 250 and q.startswith("'aaaa") and q.endswith("aaaa'")
    assert "[49,999,800 characters]" in q
    nested: list = ["lol"]
    for _ in range(9):
        nested = [nested] * 9
    t0 = time.perf_counter()
    assert len(quote(nested)) < 250 and time.perf_counter() - t0 < 0.5


def test_fail_guard_caps_any_line():
    line = one_line("x" * 10_000_000 + "\nsecond line")
    assert len(line) <= MAX_LINE + 40 and "\n" not in line and "characters]" in line


@pytest.mark.parametrize("verb", [
    ("recipe", "check", "{f}"),
    ("materials", "list", "--materials", "{f}"),
    ("calibrate", "slurry", "{csv}", "--recipe", "{f}", "--out", "{out}/m.yaml"),
    ("cite", "{f}"),
])
def test_every_verb_reading_yaml_refuses_the_bomb(tmp_path, verb):
    f = tmp_path / "bomb.yaml"
    f.write_text(_bomb(), "utf-8")
    csv = tmp_path / "rheo.csv"
    csv.write_text("shear_rate,viscosity,solid_content\n1,5,0.6\n", "utf-8")
    out = tmp_path / "out"
    args = [a.format(f=f, csv=csv, out=out) for a in verb]
    t0 = time.perf_counter()
    line = cli_error(*args)
    assert time.perf_counter() - t0 < 5
    assert "bomb.yaml" in line and "aliases expand" in line, line
    assert nothing_written(out)


def test_design_targets_file_goes_through_the_same_loader(tmp_path):
    from twinline.learn.inverse import load_targets

    f = tmp_path / "targets.yaml"
    f.write_text(_bomb(), "utf-8")
    with pytest.raises(RecipeError, match=r"targets\.yaml: YAML aliases expand"):
        load_targets(f)
