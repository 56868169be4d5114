"""Policy runs through the run directory and the command line: train, resume, evaluate, play."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.errors import ConfigError
from rnnlab.rl.config import EnvironmentConfig
from rnnlab.rl.environments import make_environment
from rnnlab.rl.trainer import PPOTrainer
from rnnlab.train.config import load_any_config
from rnnlab.train.policy_run import fit_policy_run, load_policy
from rnnlab.train.run_directory import RunDirectory

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POLICY_EXAMPLES = sorted(p for p in EXAMPLES.glob("*.toml") if "[environment]" in p.read_text())
TINY = [
    "--set", "ppo.total_steps=256", "--set", "environment.num_envs=4",
    "--set", "ppo.rollout_length=32", "--set", "ppo.minibatches=2",
    "--set", "ppo.epochs=1", "--set", "ppo.checkpoint_every=1", "--set", "ppo.eval_episodes=3",
]  # fmt: skip


def short_cartpole(total_steps: int):
    """The CartPole example in updates of 4 x 32 steps, one epoch, no regular checkpoint."""
    return load_any_config(
        EXAMPLES / "cartpole_hidden_velocity.toml",
        [f"ppo.total_steps={total_steps}", "environment.num_envs=4", "ppo.epochs=1",
         "ppo.rollout_length=32", "ppo.checkpoint_every=100"],
    )  # fmt: skip


def rnnlab(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        status = 0
    except SystemExit as done:
        status = done.code
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("path", POLICY_EXAMPLES, ids=[p.stem for p in POLICY_EXAMPLES])
def test_policy_examples_build(path):
    config = load_any_config(path)
    trainer = PPOTrainer(config)
    environment = config.environment
    whole = make_environment(EnvironmentConfig(id=environment.id)).observation_space.shape[0]
    expected = len(environment.observe or range(whole)) * environment.frame_stack
    assert trainer.policy.actor.in_features == config.policy.hidden_size
    assert trainer.envs.single_observation_space.shape == (expected,)
    assert trainer.policy.recurrent == (config.policy.kind != "feedforward")
    if trainer.policy.recurrent:
        assert trainer.policy.memory.input_size == expected
    trainer.envs.close()


def test_train_evaluate_json_and_play_a_gif(tmp_path, capsys):
    run_dir = tmp_path / "run"
    status, out, _ = rnnlab(capsys, "train", EXAMPLES / "cartpole_hidden_velocity.toml",
                            "--out", run_dir, "--quiet", *TINY)  # fmt: skip
    assert status == 0, out
    assert "finished at update 2 (256 env steps" in out
    records = RunDirectory(run_dir).read_metrics()
    assert [r["step"] for r in records[:2]] == [1, 2]
    assert records[1]["env_steps"] == 256 and "episode_return" in records[1]
    assert records[-1]["eval_episodes"] == 3
    status, out, _ = rnnlab(capsys, "evaluate", run_dir, "--json", "--episodes", 2)
    assert status == 0
    metrics = json.loads(out)
    assert metrics["episodes"] == 2 and len(metrics["returns"]) == 2
    assert metrics["mean_return"] == pytest.approx(np.mean(metrics["returns"]))
    assert all(r >= 1 for r in metrics["returns"])  # CartPole pays 1 per step
    gif = tmp_path / "play.gif"
    status, out, _ = rnnlab(capsys, "play", run_dir, "--episodes", 2, "--gif", gif,
                            "--max-steps", 4)  # fmt: skip
    assert status == 0, out
    from PIL import Image

    with Image.open(gif) as image:
        assert image.n_frames == int(out.split("(")[-1].split()[0])
        assert image.n_frames >= 2


def test_an_interrupted_run_resumes_to_the_same_schedule(tmp_path, capsys):
    config = short_cartpole(total_steps=512)
    whole = fit_policy_run(RunDirectory.create(tmp_path / "whole", config), config)
    run = RunDirectory.create(tmp_path / "cut", config)
    calls = []
    cut = fit_policy_run(run, config, should_stop=lambda: calls.append(1) or len(calls) == 2)
    assert cut.reason == "interrupted" and cut.step == 2
    halfway = load_policy(run).policy.state_dict()
    status, out, _ = rnnlab(capsys, "resume", run.path, "--quiet")
    assert status == 0 and "finished at update 4" in out, out
    records = {r["step"]: r for r in run.read_metrics() if "update" in r}
    reference = {r["step"]: r for r in RunDirectory(tmp_path / "whole").read_metrics()
                 if "update" in r}  # fmt: skip
    assert sorted(records) == [1, 2, 3, 4]
    for step in (1, 2):  # the same seed trains the same first updates
        assert records[step]["loss_total"] == reference[step]["loss_total"]
    for step in (3, 4):  # the learning rate goes on falling from where it was
        assert records[step]["lr"] == pytest.approx(reference[step]["lr"])
    assert whole.step == 4
    # the resumed run started from the interrupted one's weights
    resumed = PPOTrainer(config)
    from rnnlab.train.policy_run import load_trainer

    load_trainer(resumed, run, "step-00000002")
    for name, value in halfway.items():
        torch.testing.assert_close(resumed.policy.state_dict()[name], value)


def test_a_run_killed_before_its_first_checkpoint_resumes_from_update_0(tmp_path, capsys):
    config = short_cartpole(total_steps=256)
    fit_policy_run(RunDirectory.create(tmp_path / "whole", config), config)
    run = RunDirectory.create(tmp_path / "killed", config)
    run.append_metrics({"step": 1, "update": 1, "loss_total": 123.0})  # then SIGKILL
    run.release_lock()  # as the killed process's end does
    status, _, err = rnnlab(capsys, "resume", run.path)
    assert status == 0 and "has no checkpoint yet: starting it again from update 0" in err, err
    records = {r["step"]: r for r in run.read_metrics() if "update" in r}
    reference = {r["step"]: r for r in RunDirectory(tmp_path / "whole").read_metrics()
                 if "update" in r}  # fmt: skip
    assert sorted(records) == [1, 2]
    assert [records[s]["loss_total"] for s in (1, 2)] == [
        reference[s]["loss_total"] for s in (1, 2)
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("policy.hiden_size=3", "unknown key 'policy.hiden_size'"),
        ("environment.observe=[0, 9]", "indices must be below the observation's size 4"),
        ("environment.id=NoSuchEnv-v0", "environment.id 'NoSuchEnv-v0'"),
        ("ppo.chunk_length=200", "chunk_length (200) cannot exceed rollout_length (128)"),
        ("policy.kind=transformer", "policy.kind"),
    ],
)
def test_config_mistakes_are_one_line_and_exit_2(tmp_path, capsys, override, message):
    status, _, err = rnnlab(capsys, "train", EXAMPLES / "cartpole_hidden_velocity.toml",
                            "--out", tmp_path / "run", "--set", override)  # fmt: skip
    assert status == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_load_any_config_refuses_an_unknown_section():
    with pytest.raises(ConfigError, match="unknown section 'trainig'"):
        load_any_config(EXAMPLES / "cartpole_hidden_velocity.toml", ["trainig.lr=1"])


def test_commands_of_supervised_runs_refuse_a_policy_run_in_one_line(tmp_path, capsys):
    config = load_any_config(EXAMPLES / "cartpole_hidden_velocity.toml")
    RunDirectory.create(tmp_path / "run", config).release_lock()
    status, _, err = rnnlab(capsys, "generate", tmp_path / "run")
    assert status == 2 and "is a policy run of CartPole-v1" in err and err.count("\n") == 1
