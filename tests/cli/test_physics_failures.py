"""A physically impossible product deep in the chain names the recipe file and the inputs the
recipe gives for the failing step and the steps before it (issue 13, item 5)."""

from __future__ import annotations

import pytest
import yaml

from cli.clikit import EXAMPLES, cli_error


def _recipe(tmp_path, edit) -> str:
    data = yaml.safe_load((EXAMPLES / "nmc622_graphite_pouch.yaml").read_text("utf-8"))
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return str(path)


@pytest.mark.parametrize(("edit", "names"), [
    (lambda d: d["anode"]["coating"].update(gap="20 um"),
     ("anode: drying: porosity", "anode.coating.gap = 2e-05 m")),
    (lambda d: d["cathode"]["mixing"].update(solid_content=1e-300),
     ("cathode:", "cathode.mixing.solid_content = 1e-300")),
])
def test_a_deep_failure_names_the_file_and_the_inputs(tmp_path, edit, names):
    path = _recipe(tmp_path, edit)
    out = tmp_path / "out"
    err = cli_error("run", path, "--out", out)
    assert path in err
    for name in names:
        assert name in err, err
    assert "it follows from" in err
    assert not out.exists() or not any(out.iterdir())
