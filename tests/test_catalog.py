"""The light catalog that `rnnlab list` reads names what the registries build, in their words."""

import importlib.util

import pytest

from rnnlab import catalog
from rnnlab.experiments import EXPERIMENTS
from rnnlab.models.config import MODELS
from rnnlab.tasks import TASKS


def test_catalog_names_every_task_model_and_experiment():
    assert list(catalog.TASKS) == list(TASKS)
    assert list(catalog.MODELS) == list(MODELS)
    assert catalog.catalog()["experiments"] == EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_has_its_package(name):
    module = importlib.util.find_spec(f"rnnlab.experiments.{name.replace('-', '_')}")
    assert module is not None


@pytest.mark.parametrize("name", TASKS)
def test_task_description_matches_the_task_class(name):
    assert catalog.TASKS[name] == TASKS[name][1].description


@pytest.mark.parametrize("name", MODELS)
def test_model_description_matches_the_registry(name):
    assert catalog.MODELS[name] == MODELS[name][1]
