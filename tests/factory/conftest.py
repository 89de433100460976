"""One chain run of the example pouch cell (with the cell) shared by the factory tests."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "nmc622_graphite_pouch.yaml"
GIGA = ROOT / "examples" / "plant_gigafactory.yaml"
PILOT = ROOT / "examples" / "plant_pilot_line.yaml"


@pytest.fixture(scope="session")
def pouch_run():
    from twinline.chain import run_chain
    from twinline.spec.recipe import load_recipe

    return run_chain(load_recipe(RECIPE), cell=True, c_rates=(0.1,), cell_model="SPM")


@pytest.fixture(scope="session")
def run_json(pouch_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("factory") / "run.json"
    pouch_run.save(path)
    return path


@pytest.fixture(scope="session")
def bill(pouch_run):
    from twinline.factory.flows import cell_bill

    return cell_bill(pouch_run)


@pytest.fixture(scope="session")
def giga():
    from twinline.factory.plant import load_plant

    return load_plant(GIGA)


@pytest.fixture(scope="session")
def pilot():
    from twinline.factory.plant import load_plant

    return load_plant(PILOT)
