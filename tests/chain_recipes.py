"""Small recipes made by the chain tests (no files outside the repository are read)."""

from __future__ import annotations

import copy

from twinline.spec.recipe import parse_recipe

FULL = {
    "name": "NMC111 / graphite test line",
    "cathode": {
        "formulation": {
            "active_material": {"material": "NMC111", "mass_fraction": 0.96},
            "conductive_additive": {"material": "C65", "mass_fraction": 0.02},
            "binder": {"material": "PVDF", "mass_fraction": 0.02},
            "solvent": "NMP"},
        "current_collector": "Al",
        "coating": {"method": "comma", "gap": "150 um", "speed": "5 mm/s"},
        "drying": {"zones": [{"temperature": "80 degC", "length": "1 m"},
                             {"temperature": "95 degC", "length": "1 m"}]},
        "calendering": {"pressure": "60 MPa", "roll_temperature": "60 degC"},
        "slitting": {"speed": "100 m/min", "width": "200 mm"},
    },
    "anode": {
        "formulation": {
            "active_material": {"material": "graphite", "mass_fraction": 0.95},
            "conductive_additive": {"material": "C65", "mass_fraction": 0.01},
            "binder": {"material": "CMC-SBR", "mass_fraction": 0.04},
            "solvent": "water"},
        "current_collector": "Cu",
        "mixing": {"solid_content": 0.5},
        "coating": {"method": "comma", "gap": "200 um", "speed": "5 mm/s"},
        "drying": {"zones": [{"temperature": "60 degC", "length": "1 m"},
                             {"temperature": "80 degC", "length": "1 m"}]},
        "calendering": {"line_load": "300 N/mm"},
        "slitting": {"speed": "100 m/min", "width": "200 mm"},
    },
    "tolerances": {"cathode.coating.gap": "3 um", "anode.drying.temperature": "2 degC"},
}


def recipe(**changes):
    """The test recipe with top-level or dotted-path changes (``cathode.coating.gap``)."""
    data = copy.deepcopy(FULL)
    for path, value in changes.items():
        keys = path.split("__")
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return parse_recipe(data, "test recipe")
