"""The ``bold_responses`` task of a config: voxel responses to feature sequences, simulated or
a user's own fMRI (Güçlü & van Gerven 2017; :mod:`rnnlab.tasks.bold_simulation`).

``[task]`` names its data in one of two ways::

    [task]                            [task]
    name = "bold_responses"           name = "bold_responses"
    burn_in = 32                      features = "features.npz"
    [task.simulation]                 responses = "responses.npz"
    condition = "nl"
    voxels = 50

- ``[task.simulation]`` (the default, when neither file is named): the simulated data set of
  :class:`~rnnlab.tasks.bold_simulation.BoldSimulationConfig`, the same data for the same
  settings and seed;
- ``features`` and ``responses``, both or neither: two ``.npz`` files with one array per run,
  in the same order, features (T, F) and responses (T, V); the last run is the test run, the
  one before it validation, the rest train (:func:`~rnnlab.tasks.bold_simulation.load_runs`).
  A relative path is read from the current directory, when the run trains and again when it is
  evaluated, which reads the files anew.

The task is :class:`~rnnlab.tasks.bold_simulation.BoldResponses` of those runs: z-scored
features in, z-scored responses out, the first ``burn_in`` steps of every training run without
loss, ``median_r`` over voxels as its metric. The trainer cuts the training runs into
``training.batch_size`` parallel streams: with batch size = the training runs, one stream per
run, so that the state is never carried from one run into the next.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rnnlab.tasks.bold_simulation import BoldResponses, BoldSimulationConfig, load_runs, simulate


class BoldResponsesConfig(BaseModel):
    """``[task]`` of the voxel responses: ``[task.simulation]`` or the files ``features`` and
    ``responses``, not both; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Literal["bold_responses"] = "bold_responses"
    simulation: BoldSimulationConfig | None = Field(
        None, description="the simulated data set (the default when no files are named)"
    )
    features: str | None = Field(None, description="a .npz file of the runs' features (T, F)")
    responses: str | None = Field(
        None, description="a .npz file of the same runs' responses (T, V), and test_repeat"
    )
    burn_in: int = Field(32, ge=0, description="first steps of each training run without loss")

    @model_validator(mode="before")
    @classmethod
    def _simulated_without_files(cls, data: Any) -> Any:
        # The simulation's settings are filled in here, not left None, so that the resolved
        # config a run saves names every one of them.
        if isinstance(data, dict) and not {"simulation", "features", "responses"} & set(data):
            return {**data, "simulation": {}}
        return data

    @model_validator(mode="after")
    def _one_source_of_data(self) -> "BoldResponsesConfig":
        files = {"features": self.features, "responses": self.responses}
        given = [name for name, path in files.items() if path is not None]
        if len(given) == 1:
            missing = "responses" if given == ["features"] else "features"
            raise ValueError(
                f"{given[0]} and {missing} go together: give both .npz files of runs (features "
                f"(T, F) and responses (T, V) each), or neither; got {given[0]} = "
                f"{files[given[0]]!r} and no {missing}"
            )
        if given and self.simulation is not None:
            raise ValueError(
                "give either [task.simulation] (simulated data) or the files features and "
                "responses (your data), not both"
            )
        if not given and self.simulation is None:
            raise ValueError("give [task.simulation] or the files features and responses")
        return self


class BoldResponsesTask(BoldResponses):
    """:class:`~rnnlab.tasks.bold_simulation.BoldResponses` of the runs a ``[task]`` config
    names: simulated, or read from the user's ``.npz`` files (a missing file, or files whose
    runs do not match, is a :class:`~rnnlab.errors.RnnlabError` that names the file)."""

    def __init__(self, config: BoldResponsesConfig) -> None:
        self.config = config
        if config.simulation is not None:
            runs = simulate(config.simulation)
        else:
            runs = load_runs(config.features, config.responses)
        super().__init__(runs, config.burn_in)
