"""Citations: the BibTeX keys of the models a run or a recipe uses, and their entries."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from twinline.spec.errors import RecipeError


def recipe_citation_keys(recipe: Any) -> list[str]:
    """Keys of the models a recipe selects: every electrode step, and the cell steps when
    the recipe describes a cell (both electrodes and a ``cell`` section)."""
    from twinline.chain.steps import electrode_sections, model_name, section_of
    from twinline.process.registry import get_model, model_citations
    from twinline.spec.steps import steps

    keys: list[str] = []
    for electrode in recipe.electrodes().values():
        sections = electrode_sections(electrode)
        for step in steps("electrode"):
            get_model(step.name, model_name(step, sections[step.name]))  # unknown → error
            keys += [k for k in model_citations(step.name) if k not in keys]
    if recipe.cell is not None and recipe.cathode is not None and recipe.anode is not None:
        for step in steps("cell"):
            get_model(step.name, model_name(step, section_of(recipe, step)))
            keys += [k for k in model_citations(step.name) if k not in keys]
    return keys


def citation_keys(source: Path) -> list[str]:
    """Citation keys of a ``run.json`` (its record) or a recipe (the models it selects)."""
    if source.suffix.lower() == ".json":
        from twinline.chain.record import load_run

        return list(load_run(source).citations)
    if source.suffix.lower() not in (".yaml", ".yml"):
        raise RecipeError(f"{source}: expected a run.json or a recipe .yaml file")
    from twinline.spec.recipe import load_recipe

    return recipe_citation_keys(load_recipe(source))


def bibtex_entries() -> dict[str, str]:
    """``key → entry text`` of ``twinline/references.bib``."""
    from importlib import resources

    text = resources.files("twinline").joinpath("references.bib").read_text("utf-8")
    entries: dict[str, str] = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,", text):
        start, depth, i = m.start(), 0, m.end() - 1
        open_at = text.index("{", m.start())
        for i in range(open_at, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
        entries.setdefault(m.group(1), text[start:i + 1])
    return entries
