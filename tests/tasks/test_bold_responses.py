"""The registered ``bold_responses`` task: built from a ``[task]`` config of a simulation or of
a user's .npz files it holds exactly the files' runs, z-scored as documented (numpy's means and
deviations of the training runs, computed here again); its median r is numpy's; a run trains
and is evaluated from the command line; and every way the config or the files can be wrong is
one clear error that names what was expected."""

import json

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.tasks import TASKS, build_task
from rnnlab.tasks.bold_responses import BoldResponsesConfig, BoldResponsesTask
from rnnlab.tasks.bold_simulation import BoldSimulationConfig, simulate
from rnnlab.train.config import parse_config
from rnnlab.train.evaluation import load_trained
from rnnlab.train.run_directory import RunDirectory
from tests.tasks.bold_data import write_runs


@pytest.fixture
def files(tmp_path):
    return write_runs(tmp_path / "data")


def task_of(**fields) -> BoldResponsesTask:
    config = parse_config({"model": {"kind": "gru", "hidden_size": 4},
                           "task": {"name": "bold_responses", **fields}}).task  # fmt: skip
    return build_task(config)


def test_the_registry_builds_it_from_a_config():
    assert TASKS["bold_responses"] == (BoldResponsesConfig, BoldResponsesTask)
    assert BoldResponsesConfig().simulation == BoldSimulationConfig()


def test_the_files_runs_z_scored_with_the_training_runs_statistics(files):
    task = task_of(features=str(files.features_path), responses=str(files.responses_path),
                   burn_in=10)  # fmt: skip
    x, y = files.features, files.responses  # (4, 120, 3), (4, 120, 5): runs 0-1 train
    x_train, y_train = x[:2].reshape(-1, 3), y[:2].reshape(-1, 5)
    x_z = (x - x_train.mean(0)) / x_train.std(0)
    y_z = (y - y_train.mean(0)) / y_train.std(0)
    splits = task.splits()
    assert (task.input_size, task.output_size) == (3, 5)
    np.testing.assert_allclose(splits["train"].x[0].numpy(), x_z[:2].reshape(-1, 3), atol=1e-6)
    np.testing.assert_allclose(splits["train"].y[0].numpy(), y_z[:2].reshape(-1, 5), atol=1e-6)
    for name, run in (("val", 2), ("test", 3)):
        np.testing.assert_allclose(splits[name].x[0].numpy(), x_z[run], atol=1e-6)
        np.testing.assert_allclose(splits[name].y[0].numpy(), y_z[run], atol=1e-6)
        assert splits[name].mask is None
    expected_mask = np.ones((2, 120), dtype=bool)
    expected_mask[:, :10] = False
    np.testing.assert_array_equal(splits["train"].mask[0].numpy(), expected_mask.reshape(-1))


def test_a_simulation_config_gives_the_simulated_runs():
    small = {"condition": "lin", "voxels": 4, "runs": 3, "run_seconds": 60.0, "seed": 2}
    task = task_of(simulation=small, burn_in=5)
    expected = simulate(BoldSimulationConfig(**small))
    np.testing.assert_array_equal(task.runs.responses, expected.responses)
    np.testing.assert_array_equal(task.runs.features, expected.features)
    assert task.burn_in == 5


def test_median_r_is_numpys_over_the_steps_with_loss(files):
    task = task_of(features=str(files.features_path), responses=str(files.responses_path),
                   burn_in=20)  # fmt: skip
    splits = task.splits()
    rng = np.random.default_rng(5)
    for name, rows in (("test", slice(None)), ("train", splits["train"].mask[0].numpy())):
        split = splits[name]
        noise = torch.as_tensor(rng.normal(0, 1, split.y.shape), dtype=torch.float32)
        predictions = split.y + noise
        p, y = predictions[0].double().numpy()[rows], split.y[0].double().numpy()[rows]
        r = [np.corrcoef(p[:, v], y[:, v])[0, 1] for v in range(5)]
        assert task.metrics(predictions, split)["median_r"] == pytest.approx(np.median(r), abs=1e-6)


def test_train_then_evaluate_from_the_command_line(files, tmp_path, cli_in_process):
    (tmp_path / "run.toml").write_text(f"""
[model]
kind = "gru"
hidden_size = 8
[task]
name = "bold_responses"
features = "{files.features_path}"
responses = "{files.responses_path}"
burn_in = 10
[training]
lr = 0.01
batch_size = 2
bptt = "truncated"
chunk_length = 30
max_steps = 24
eval_every = 8
checkpoint_every = 8
""")
    trained = cli_in_process("train", tmp_path / "run.toml", "--out", tmp_path / "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "max_steps at step 24" in trained.stdout
    evaluated = cli_in_process("evaluate", tmp_path / "run", "--split", "test", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert set(metrics) == {"loss", "median_r"}
    # The same numbers from the network itself and numpy: outputs on the z-scored test run.
    _, network = load_trained(RunDirectory.open(tmp_path / "run"))
    x, y = files.features, files.responses
    x_train, y_train = x[:2].reshape(-1, 3), y[:2].reshape(-1, 5)
    x_z = (x[3] - x_train.mean(0)) / x_train.std(0)
    y_z = (y[3] - y_train.mean(0)) / y_train.std(0)
    with torch.no_grad():
        outputs, _ = network(torch.as_tensor(x_z, dtype=torch.float32)[None])
    outputs = outputs[0].double().numpy()
    r = [np.corrcoef(outputs[:, v], y_z[:, v])[0, 1] for v in range(5)]
    assert metrics["median_r"] == pytest.approx(np.median(r), abs=1e-5)
    assert metrics["loss"] == pytest.approx(np.mean((outputs - y_z) ** 2), rel=1e-4)
    saved = json.loads((tmp_path / "run" / "bold_responses.json").read_text())
    np.testing.assert_allclose(saved["y_sd"], y_train.std(0))
    assert (saved["runs"], saved["steps"], saved["features"], saved["voxels"]) == (4, 120, 3, 5)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"features": "x.npz"}, "[task] features and responses go together: give both"),
        ({"responses": "y.npz"}, "[task] responses and features go together"),
        ({"features": "x.npz", "responses": "y.npz", "simulation": {}},
         "[task] give either [task.simulation] (simulated data) or the files"),
        ({"simulation": {"voxel": 3}},
         "unknown key 'voxel' in [task.simulation]; valid: condition, features, voxels"),
        ({"burn_in": -1}, "task.burn_in: Input should be greater than or equal to 0"),
    ],
)  # fmt: skip
def test_config_mistakes_are_one_config_error(fields, message):
    with pytest.raises(ConfigError) as error:
        task_of(**fields)
    assert str(error.value).startswith(f"config: {message}")


def save_runs(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_file_mistakes_name_the_file_and_what_was_expected(files, tmp_path):
    good_x, good_y = str(files.features_path), str(files.responses_path)
    x, y = files.features, files.responses
    runs_y = {f"run{r}": y[r] for r in range(4)}

    def refused(features, responses, match):
        with pytest.raises(RnnlabError, match=match):
            task_of(features=features, responses=responses)

    refused(str(tmp_path / "missing.npz"), good_y, r"^features file \S*missing.npz does not exist")
    refused(good_x, str(tmp_path / "gone.npz"), r"^responses file \S*gone.npz does not exist")
    renamed = save_runs(tmp_path / "renamed.npz", **{f"scan{r}": y[r] for r in range(4)})
    refused(good_x, renamed, r"renamed.npz must name the same runs in the same order; got "
                             r"\['run0', 'run1', 'run2', 'run3'\] and \['scan0'")  # fmt: skip
    shorter = save_runs(tmp_path / "shorter.npz", **{**runs_y, "run1": y[1][:100]})
    refused(good_x, shorter, r"run 'run1' of .*shorter.npz: expected features \(T, F\) and "
            r"responses \(T, V\) with one T.*got \(120, 3\) and \(100, 5\)")  # fmt: skip
    two = save_runs(tmp_path / "two.npz", run0=x[0], run1=x[1])
    refused(two, save_runs(tmp_path / "two_y.npz", run0=y[0], run1=y[1]),
            r"hold 2 runs \['run0', 'run1'\]; expected at least 3")  # fmt: skip
    wider = save_runs(tmp_path / "wider.npz", **{**runs_y, "run3": np.ones((120, 6))})
    refused(good_x, wider, r"responses file \S*wider.npz: every run must have the same shape")
    repeat = save_runs(tmp_path / "repeat.npz", **runs_y, test_repeat=np.ones((120, 4)))
    refused(good_x, repeat, r"test_repeat must have the runs' shape \(T, V\) = \(120, 5\); "
                            r"got \(120, 4\)")  # fmt: skip
    np.save(tmp_path / "one.npy", y[0])
    refused(good_x, str(tmp_path / "one.npy"),
            r"one.npy is not a readable .npz of arrays, one per run: it holds one array "
            r"\(120, 5\)")  # fmt: skip
    (tmp_path / "text.npz").write_text("not an archive")
    refused(good_x, str(tmp_path / "text.npz"), r"text.npz is not a readable .npz")
    nan = save_runs(tmp_path / "nan.npz", **{**runs_y, "run2": np.full((120, 5), np.nan)})
    refused(good_x, nan, r"nan.npz: array 'run2' has NaN or infinite values")
    with pytest.raises(ConfigError, match=r"burn_in must be in 0 .. T - 1 = 119.*got 120"):
        task_of(features=good_x, responses=good_y, burn_in=120)
