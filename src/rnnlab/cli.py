"""The ``rnnlab`` command line: parses, calls one library function per command, prints.

A user mistake (a missing file, a bad config, an unknown option) prints one line starting with
``error:`` and exits with status 2; ``--debug`` shows the traceback instead.

Each command imports what it needs when it runs, so that ``rnnlab --help`` and ``rnnlab list``
answer without importing torch (tests/test_cli_imports.py).
"""

import json
import sys
import time
from pathlib import Path

import click

from rnnlab.errors import RnnlabError

NPROC_HELP = (
    "Train data-parallel in N local processes (gloo on CPU, NCCL on N GPUs); under torchrun, "
    "leave it out."
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: rnnlab train examples/elman_letters.toml --set training.max_steps=500",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(context: click.Context, debug: bool) -> None:
    """rnnlab: build, train, probe and benchmark recurrent neural networks."""
    context.obj = {"debug": debug}


@cli.command("list", epilog="Example: rnnlab list")
def list_command() -> None:
    """List the built-in tasks, models and experiments."""
    from rnnlab.catalog import catalog

    for title, entries in catalog().items():
        click.echo(f"{title}:")
        for name, description in entries.items():
            click.echo(f"  {name:<14} {description}")
        if not entries:
            click.echo("  (none yet)")


@cli.command(
    epilog="Example: rnnlab train examples/lstm_adding.toml --set training.lr=0.003 --out runs/a"
)
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
    help="Override one config key; repeatable.",
)  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), help="Run directory (default runs/...).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help=NPROC_HELP)  # fmt: skip
def train(config: Path, overrides: tuple[str, ...], out: Path | None, device: str, quiet: bool,
          nproc: int):  # fmt: skip
    """Train the network described by the TOML file CONFIG.

    With --nproc N (or started by torchrun), N processes train it together, each with
    training.batch_size sequences of every step: the same training as one process with N times
    the batch.
    """
    from rnnlab.train.build import build
    from rnnlab.train.config import load_any_config
    from rnnlab.train.run_directory import RunDirectory

    run_config = load_any_config(config, list(overrides))
    out = out or Path("runs") / f"{config.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    if _is_policy(run_config):  # [environment]: a policy trained with PPO
        _check_policy_options(device, nproc)
        run = RunDirectory.create(out, run_config)
        click.echo(f"run directory: {run.path}")
        _fit_policy_and_report(run, run_config, resume=False, checkpoint=None, quiet=quiet)
        return
    _check_device(device, nproc)
    world = _torchrun(nproc, device)
    run = built = None
    if nproc > 1 or world is not None:
        from rnnlab.train.distributed import check_training

        check_training(run_config.training)
    if world is None or world.main:
        built = build(run_config, device)  # before the directory: a refused config leaves nothing
        run = RunDirectory.create(out, run_config)
        click.echo(f"run directory: {run.path}")
    if world is not None:  # every process trains in rank 0's directory
        from rnnlab.train.launch import shared_run

        run = shared_run(world, run)
        built = built or build(run_config, device)
    _fit_and_report(run, run_config, built, resume=False, checkpoint=None, quiet=quiet,
                    nproc=nproc, world=world)  # fmt: skip


@cli.command(epilog="Example: rnnlab resume runs/elman_letters-20261125-101500")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--checkpoint", help="Resume from this checkpoint (default: the latest).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help=NPROC_HELP)  # fmt: skip
def resume(run_dir: Path, checkpoint: str | None, device: str, quiet: bool, nproc: int) -> None:
    """Continue the run in RUN_DIR from its latest (or a chosen) checkpoint (a data-parallel
    run: with the --nproc it was trained with)."""
    from rnnlab.train.build import build
    from rnnlab.train.run_directory import RunDirectory

    run = RunDirectory.open(run_dir)
    config = run.config()
    if _is_policy(config):
        _check_policy_options(device, nproc)
        _fit_policy_and_report(run, config, resume=True, checkpoint=checkpoint, quiet=quiet)
        return
    _check_device(device, nproc)
    world = _torchrun(nproc, device)
    _fit_and_report(run, config, build(config, device), resume=True, checkpoint=checkpoint,
                    quiet=quiet, nproc=nproc, world=world)  # fmt: skip


@cli.command(epilog="Example: rnnlab evaluate runs/lstm_adding-20261125-101500 --split test --json")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["val", "test"]), default="val", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: metric -> value.")
@click.option("--checkpoint", help="Evaluate this checkpoint (default: the latest).")
@click.option("--no-baselines", is_flag=True, help="Skip the task's baselines (n-gram models).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--episodes",
    type=click.IntRange(min=1),
    help="Policy runs: episodes to average (default: the config's ppo.eval_episodes).",
)
@click.option("--seed", type=int, default=10_000, show_default=True,
              help="Policy runs: episode i is seeded SEED + i.")  # fmt: skip
def evaluate(run_dirs: tuple[Path, ...], split: str, as_json: bool, checkpoint: str | None,
             no_baselines: bool, device: str, episodes: int | None, seed: int):  # fmt: skip
    """Evaluate the trained network of RUN_DIR on a data split, beside the task's baselines.

    Several RUN_DIRS of one task (different seeds) are evaluated as an ensemble: the mean of
    their predicted probabilities. A policy run (a config with [environment]) is evaluated by
    its deterministic policy's mean return over --episodes seeded episodes.
    """
    from rnnlab.train.evaluation import evaluate_run
    from rnnlab.train.run_directory import RunDirectory

    runs = [RunDirectory.open(path) for path in run_dirs]
    if any(_is_policy(run.config()) for run in runs):
        _evaluate_policies(runs, as_json, checkpoint, episodes, seed)
        return
    if episodes is not None:
        raise RnnlabError("--episodes applies to policy runs; these runs are not")
    _check_device(device)
    metrics = evaluate_run(
        runs, split, checkpoint=checkpoint, device=device, baselines=not no_baselines
    )
    if as_json:
        click.echo(json.dumps(metrics))
        return
    for name, value in metrics.items():
        if isinstance(value, int | float):
            click.echo(f"{split} {name}: {value:.6g}")
        elif isinstance(value, str) and not name.endswith("_png"):
            click.echo(f"{split} {name}: {value}")
    for example in metrics.get("examples", []):
        click.echo(f"  {example['source']}  ->  {example['translation']}")
        click.echo(f"  {'':<{len(example['source'])}}  (reference: {example['references'][0]})")
    for name, scores in metrics.get("per_class", {}).items():
        click.echo(
            f"  {name:<12} precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  "
            f"f1 {scores['f1']:.3f}  n {scores['support']}"
        )
    for table in ("per_speaker", "per_digit"):
        for name, scores in metrics.get(table, {}).items():
            click.echo(f"  {table.removeprefix('per_')} {name:<10} accuracy "
                       f"{scores['accuracy']:.3f}  n {scores['n']}")  # fmt: skip
    for name, scores in metrics.get("baselines", {}).items():
        line = "  ".join(f"{k} {v:.4g}" for k, v in scores.items() if isinstance(v, int | float))
        click.echo(f"baseline {name}: {line}")
    for name, value in metrics.items():
        if name.endswith("_png"):
            click.echo(f"{name.removesuffix('_png').replace('_', ' ')}: {value}")


@cli.command(epilog="Example: rnnlab play runs/cartpole --episodes 3 --gif cartpole.gif")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--episodes", type=click.IntRange(min=1), default=3, show_default=True,
              help="Episodes to render, one after another.")  # fmt: skip
@click.option("--gif", "gif", type=click.Path(path_type=Path), required=True,
              help="Where to write the animation.")  # fmt: skip
@click.option("--seed", type=int, default=10_000, show_default=True,
              help="Episode i is seeded SEED + i.")  # fmt: skip
@click.option("--max-steps", type=click.IntRange(min=1), default=200, show_default=True,
              help="Frames drawn per episode at most.")  # fmt: skip
@click.option("--fps", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--checkpoint", help="Use this checkpoint (default: the latest).")
def play(run_dir: Path, episodes: int, gif: Path, seed: int, max_steps: int, fps: int,
         checkpoint: str | None) -> None:  # fmt: skip
    """Render episodes of the policy trained in RUN_DIR as a GIF: the environment's frames,
    with the hidden state's first two principal components beside them."""
    from rnnlab.rl.play import play_episodes
    from rnnlab.train.policy_run import load_policy
    from rnnlab.train.run_directory import RunDirectory

    trainer = load_policy(RunDirectory.open(run_dir), checkpoint)
    result = play_episodes(trainer.policy, trainer.normaliser, trainer.config.environment,
                           gif, episodes=episodes, seed=seed, max_steps=max_steps,
                           fps=fps)  # fmt: skip
    returns = "  ".join(f"{r:.4g}" for r in result.returns)
    click.echo(f"returns: {returns}")
    click.echo(f"gif: {gif} ({result.frames} frames)")


@cli.command(
    epilog="Example: rnnlab predict runs/names Hinton Schmidhuber Hazaki\n\n"
    "Example: rnnlab predict runs/spoken_digits recording.wav"
)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("names", nargs=-1, required=True)
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True,
              help="Classes shown per name.")  # fmt: skip
@click.option(
    "--ensemble",
    "others",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Another run of the same task; repeatable. Probabilities are averaged.",
)
@click.option("--checkpoint", help="Use this checkpoint (default: the latest).")
def predict(run_dir: Path, names: tuple[str, ...], top: int, others: tuple[Path, ...],
            checkpoint: str | None) -> None:  # fmt: skip
    """Classify NAMES with the classifier trained in RUN_DIR: surnames for a names run, WAV
    files for a spoken-digits run (the top digits with their probabilities)."""
    from rnnlab.evaluation.classification import predict as predict_names
    from rnnlab.train.evaluation import load_network, require_task
    from rnnlab.train.run_directory import RunDirectory

    run = RunDirectory.open(run_dir)
    require_task(run, ("names", "spoken_digits"), "predict")
    if run.config().task.name == "spoken_digits":
        _predict_digits(run, names, top, others, checkpoint)
        return
    networks = []
    for path in (run_dir, *others):
        run = RunDirectory.open(path)
        require_task(run, ("names",), "predict")
        networks.append(load_network(run, checkpoint))
    _, vocabulary, extra = networks[0]
    for _, other_vocabulary, other_extra in networks[1:]:
        if other_vocabulary != vocabulary or other_extra != extra:
            raise RnnlabError("--ensemble runs must share the vocabulary and classes of RUN_DIR")
    ranked = predict_names([n for n, _, _ in networks], vocabulary, extra["classes"],
                           list(names), extra.get("ascii_only", False), k=top)  # fmt: skip
    for name, classes in zip(names, ranked):
        click.echo(f"{name}: " + ", ".join(f"{c} {p:.2f}" for c, p in classes))


def _predict_digits(run, paths, top: int, others, checkpoint) -> None:
    from rnnlab.evaluation.spoken_digits import predict as predict_digits
    from rnnlab.tasks.speech_features import feature_settings
    from rnnlab.train.evaluation import load_speech_network, require_task
    from rnnlab.train.run_directory import RunDirectory

    network, config = load_speech_network(run, checkpoint)
    networks = [network]
    for path in others:
        other = RunDirectory.open(path)
        require_task(other, ("spoken_digits",), "predict")
        network, other_config = load_speech_network(other, checkpoint)
        if feature_settings(other_config) != feature_settings(config):
            raise RnnlabError("--ensemble runs must share the feature settings of RUN_DIR")
        networks.append(network)
    ranked = predict_digits(networks, config, list(paths), k=top)
    for path, digits in zip(paths, ranked):
        click.echo(f"{path}: " + ", ".join(f"{d} {p:.2f}" for d, p in digits))


@cli.command(epilog='Example: rnnlab generate runs/shakespeare --prime "ROMEO:" --length 300')
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--prime", default="\n", show_default=True, help="Text to start from.")
@click.option("--length", type=click.IntRange(min=1), default=300, show_default=True,
              help="Characters to sample.")  # fmt: skip
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True,
              help="Below 1: safer choices; above 1: more surprising.")  # fmt: skip
@click.option("--top-k", type=click.IntRange(min=1), help="Sample only from the k likeliest.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampling.")
@click.option("--checkpoint", help="Use this checkpoint (default: the latest).")
def generate(run_dir: Path, prime: str, length: int, temperature: float, top_k: int | None,
             seed: int, checkpoint: str | None) -> None:  # fmt: skip
    """Sample text from the character language model trained in RUN_DIR."""
    from rnnlab.models.sampling import generate as sample
    from rnnlab.train.evaluation import load_network, require_task
    from rnnlab.train.run_directory import RunDirectory

    run = RunDirectory.open(run_dir)
    require_task(run, ("char_lm",), "generate")
    network, vocabulary, _ = load_network(run, checkpoint)
    click.echo(prime + sample(network, vocabulary, prime, length, temperature, top_k, seed))


@cli.command(epilog="Example: rnnlab transcribe runs/digit_strings string.wav")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("wav_files", nargs=-1, required=True)
@click.option(
    "--beam",
    type=click.IntRange(min=1),
    default=None,
    help="Prefix beam search of this width (default: greedy, the best path).",
)
@click.option("--checkpoint", help="Use this checkpoint (default: the latest).")
def transcribe(run_dir: Path, wav_files: tuple[str, ...], beam: int | None,
               checkpoint: str | None) -> None:  # fmt: skip
    """Write the digit string that the CTC network trained in RUN_DIR hears in WAV_FILES."""
    from rnnlab.evaluation.digit_strings import transcribe as transcribe_files
    from rnnlab.train.evaluation import load_speech_network, require_task
    from rnnlab.train.run_directory import RunDirectory

    run = RunDirectory.open(run_dir)
    require_task(run, ("digit_strings",), "transcribe")
    network, config = load_speech_network(run, checkpoint)
    for path, text in zip(wav_files, transcribe_files(network, config, list(wav_files), beam)):
        click.echo(f"{path}: {text}")


@cli.command(epilog='Example: rnnlab translate runs/eng-fra "i lost ." "he\'s calm ."')
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("sentences", nargs=-1, required=True)
@click.option("--beam", type=click.IntRange(min=1), default=4, show_default=True,
              help="Beam width; 1 is greedy decoding.")  # fmt: skip
@click.option("--alpha", type=click.FloatRange(min=0), default=0.75, show_default=True,
              help="Length normalisation: score = log P / length**alpha.")  # fmt: skip
@click.option("--attention", "attention_png", type=click.Path(path_type=Path),
              help="Write the first sentence's attention heat map to this PNG.")  # fmt: skip
@click.option("--ensemble", "others", multiple=True, type=click.Path(path_type=Path),
              help="Another run of the same data to translate with (repeatable).")  # fmt: skip
@click.option("--checkpoint", help="Use this checkpoint (default: the latest).")
def translate(run_dir: Path, sentences: tuple[str, ...], beam: int, alpha: float,
              attention_png: Path | None, others: tuple[Path, ...],
              checkpoint: str | None) -> None:  # fmt: skip
    """Translate SENTENCES with the encoder-decoder trained in RUN_DIR."""
    from rnnlab.evaluation.translation import translate as translate_sentences
    from rnnlab.models.ensemble import Ensemble
    from rnnlab.tasks.translation import tokenise
    from rnnlab.train.evaluation import load_translator, require_task
    from rnnlab.train.run_directory import RunDirectory

    runs = [RunDirectory.open(path) for path in (run_dir, *others)]
    models, vocabularies = [], []
    for run in runs:
        require_task(run, ("translation",), "translate")
        network, source, target, max_length = load_translator(run, checkpoint)
        if vocabularies and (source, target) != vocabularies[0]:
            raise RnnlabError(f"{run.path} has other vocabularies than {runs[0].path}")
        models.append(network)
        vocabularies.append((source, target))
    run = runs[0]
    network = models[0] if len(models) == 1 else Ensemble.from_members(models).combined()
    results = translate_sentences(
        network, source, target, list(sentences), beam_size=beam, alpha=alpha,
        max_length=max_length + 1,
    )  # fmt: skip
    for sentence, (text, _) in zip(sentences, results):
        click.echo(f"{sentence}\t{text}")
    if attention_png is not None:
        weights = results[0][1].attention
        if weights is None:
            raise RnnlabError(f"{run.path} was trained without attention (model.attention)")
        from rnnlab.report.attention_map import plot_attention

        plot_attention(
            weights, [*tokenise(sentences[0]), "<eos>"], [*results[0][0].split(), "<eos>"],
            attention_png,
        )  # fmt: skip
        click.echo(f"attention heat map: {attention_png}")


@cli.command(epilog="Example: rnnlab forecast runs/sunspots --horizon 10")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--horizon", type=click.IntRange(min=1), help="Steps ahead (default: the task's).")
@click.option("--png", type=click.Path(path_type=Path),
              help="Where to draw the forecast (default: RUN_DIR/forecast.png).")  # fmt: skip
@click.option("--ensemble", "others", multiple=True, type=click.Path(path_type=Path),
              help="Another run of the same task to forecast with (repeatable).")  # fmt: skip
@click.option("--checkpoint", help="Use this checkpoint (default: the latest).")
def forecast(run_dir: Path, horizon: int | None, png: Path | None, others: tuple[Path, ...],
             checkpoint: str | None) -> None:  # fmt: skip
    """Forecast beyond the end of the series with the network trained in RUN_DIR."""
    from rnnlab.evaluation.forecasting import future, plot_future
    from rnnlab.models.ensemble import Ensemble
    from rnnlab.train.evaluation import load_trained, require_task
    from rnnlab.train.run_directory import RunDirectory

    runs = [RunDirectory.open(path) for path in (run_dir, *others)]
    networks = []
    for run in runs:
        require_task(run, ("forecast",), "forecast")
        if run.config().task != runs[0].config().task:
            raise RnnlabError(f"{run.path} forecasts another series or setting than {run_dir}")
        task, network = load_trained(run, checkpoint)
        networks.append(network)
    run = runs[0]
    network = networks[0] if len(networks) == 1 else Ensemble.from_members(networks)
    times, result = future(task, network, horizon or task.config.horizon)
    header = f"{'time':>10}  {'forecast':>10}"
    if result.lower is not None:
        header += f"  {'90% lower':>10}  {'90% upper':>10}"
    click.echo(header)
    for k, time_k in enumerate(times):
        line = f"{time_k:>10g}  {result.mean[k]:>10.4g}"
        if result.lower is not None:
            line += f"  {result.lower[k]:>10.4g}  {result.upper[k]:>10.4g}"
        click.echo(line)
    path = plot_future(task, times, result, png or run.path / "forecast.png")
    click.echo(f"plot: {path}")


@cli.command(
    epilog="Example: rnnlab replicate elman1990 --seeds 5 --out runs/elman1990\n\n"
    "Example: rnnlab replicate guclu2017 --features features.npz --responses responses.npz"
)
@click.argument("experiment")
@click.option("--seeds", type=click.IntRange(min=1),
              help="Networks trained per simulation and mode (default 5; an experiment may "
              "set its own: 10 for munakata1997, 12 for botvinick-plaut2004).")  # fmt: skip
@click.option("--quick", is_flag=True, help="Fewer passes, for a fast check.")
@click.option("--out", type=click.Path(path_type=Path), help="Output directory.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Networks trained at once in local processes, for the experiments that "
              "can (elman1990, flipflop, munakata1997, neuro-tasks; default: as many as "
              "the CPUs allow).")  # fmt: skip
@click.option("--features", type=click.Path(path_type=Path),
              help="guclu2017 on your own data: a .npz file with one array of features (T, F) "
              "per run, the last run the test run; with --responses.")  # fmt: skip
@click.option("--responses", type=click.Path(path_type=Path),
              help="guclu2017: a .npz file of the same runs' responses (T, V), in the same "
              "order (test_repeat, optional: a second observation of the test run).")  # fmt: skip
def replicate(experiment: str, seeds: int | None, quick: bool, out: Path | None,
              workers: int | None, features: Path | None,
              responses: Path | None) -> None:  # fmt: skip
    """Replicate a classic study (see `rnnlab list`) and write its report.

    guclu2017 runs its models and report on your own fMRI runs with --features and
    --responses, in place of the simulated data.
    """
    import difflib

    from rnnlab.experiments import EXPERIMENTS

    if experiment not in EXPERIMENTS:
        close = difflib.get_close_matches(experiment, list(EXPERIMENTS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RnnlabError(
            f"unknown experiment {experiment!r}; valid: {', '.join(EXPERIMENTS)}{hint}"
        )
    from rnnlab.experiments import data_experiments, default_seeds, parallel_experiments, runner

    options = {}
    if features is not None or responses is not None:
        if experiment not in data_experiments():
            raise RnnlabError(
                f"{experiment} makes its own data; --features and --responses serve "
                f"{', '.join(data_experiments())}"
            )
        if features is None or responses is None:
            given, missing = ("--features", "--responses") if responses is None else (
                "--responses", "--features")  # fmt: skip
            raise RnnlabError(
                f"{given} needs {missing}: give both .npz files of runs (features (T, F) and "
                f"responses (T, V) each), or neither"
            )
        options.update(features=features, responses=responses)
    if workers is not None:
        if experiment not in parallel_experiments():
            raise RnnlabError(
                f"{experiment} trains its networks in one process; --workers serves "
                f"{', '.join(parallel_experiments())}"
            )
        options["workers"] = workers
    seeds = seeds or default_seeds(experiment)
    out = out or Path("runs") / f"{experiment}-{time.strftime('%Y%m%d-%H%M%S')}"
    run = runner(experiment)
    results = run(out, seeds=seeds, quick=quick, echo=lambda line: click.echo(line, err=True),
                  **options)  # fmt: skip
    for name, simulation in results.get("simulations", {}).items():
        for mode, summary in simulation["mode"].items():
            required = [c for c in summary["checks"] if c["required"]]
            passed = sum(c["passed"] for c in required)
            click.echo(f"{name:<16} {mode:<9} {passed}/{len(required)} checks passed "
                       f"({summary['seconds']:.1f} s)")  # fmt: skip
    for item in results.get("checks", []):
        value = item["value"] if isinstance(item["value"], str) else f"{item['value']:.3g}"
        mark = "pass" if item["passed"] else ("FAIL" if item["required"] else "not met")
        click.echo(f"{mark:<7} {item['name']}: {value} ({item['criterion']})")
    click.echo(f"report: {out / 'report.html'}")


@cli.command(epilog="Example: rnnlab sweep examples/sweep_letters.toml --out runs/s --workers 2")
@click.argument("sweep_file", metavar="SWEEP", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Sweep directory (default runs/<SWEEP's stem>); re-run to go on.")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1),
              help="Local runs at once (default: as many as the CPUs allow).")  # fmt: skip
@click.option("--threads-per-worker", type=click.IntRange(min=1),
              help="torch threads per local run (default: the CPUs shared out).")  # fmt: skip
@click.option("--ray", "ray_address", metavar="local|ADDRESS",
              help="Ray tasks: 'local' starts Ray here; else join ADDRESS.")  # fmt: skip
@click.option("--cpus-per-run", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --ray: CPUs (and torch threads) per run.")  # fmt: skip
@click.option("--gpus-per-run", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="With --ray: GPUs per run; above 0 trains on CUDA.")  # fmt: skip
@click.option("--metric", default="val_loss", show_default=True,
              help="The metric summary.png draws against the swept value.")  # fmt: skip
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def sweep(sweep_file: Path, out: Path | None, workers: int | None,
          threads_per_worker: int | None, ray_address: str | None, cpus_per_run: int,
          gpus_per_run: float, metric: str, quiet: bool) -> None:  # fmt: skip
    """Train every point of the sweep file SWEEP with every seed, then summarise them.

    SWEEP names a base config, seeds = [...], and a [grid] of "section.key" = [values]
    and/or [[points]] of overrides. Each run is an ordinary run directory in --out; a re-run
    skips the finished runs and resumes the unfinished ones. The summary (mean ± sd over
    seeds of every final validation metric) goes to summary.csv, summary.json and
    summary.png in --out.
    """
    from rich.console import Console

    from rnnlab.train.interrupt import StopOnSignals
    from rnnlab.train.sweep import run_sweep

    out = out or Path("runs") / sweep_file.stem
    count = [0]

    def report(outcome) -> None:
        count[0] += 1
        if quiet:
            return
        if outcome.status == "finished":
            validation = "  ".join(f"{k} {v:.4g}" for k, v in outcome.metrics.items())
            detail = f"{outcome.reason} at step {outcome.step}  {validation}"
            detail += f"  ({outcome.seconds:.1f} s)"
        elif outcome.status == "skipped":
            detail = "finished before, skipped"
        elif outcome.status == "interrupted":
            detail = "interrupted" + (f" at step {outcome.step}" if outcome.step else "")
        else:
            detail = outcome.message
        click.echo(f"[{count[0]}] {outcome.name}: {detail}")

    with StopOnSignals() as stop:
        summary = run_sweep(
            sweep_file, out, workers=workers, threads_per_worker=threads_per_worker,
            ray=ray_address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run,
            metric=metric, on_run=report, should_stop=stop,
        )  # fmt: skip
    Console(width=max(100, Console().width)).print(summary.table())
    click.echo("summary: " + ", ".join(str(path) for path in summary.files))
    if not summary.complete:
        click.echo(f"not every run has finished; continue with: rnnlab sweep {sweep_file} "
                   f"--out {out}")  # fmt: skip
        if stop():
            sys.exit(stop.exit_status)


@cli.command(epilog="Example: rnnlab bench --quick --out bench.json")
@click.option("--quick", is_flag=True, help="A subset of the shapes, in under a minute.")
@click.option("--out", type=click.Path(path_type=Path), help="Also write the table as JSON.")
def bench(quick: bool, out: Path | None) -> None:
    """Time rnnlab's layers against torch.nn (forward + backward) on this machine."""
    from rnnlab.bench import run

    run(quick=quick, out=str(out) if out else None, echo=click.echo)


def _torchrun(nproc: int, device: str):
    """The World of this process if torchrun started it (its process group joined), or None."""
    import os

    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return None
    if nproc > 1:
        raise RnnlabError(
            "torchrun started this process (RANK and WORLD_SIZE are set), and its "
            "--nproc-per-node says how many run; leave --nproc out"
        )
    from rnnlab.train.launch import torchrun_world

    return torchrun_world(device)


def _check_device(device: str, nproc: int = 1) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise RnnlabError("--device cuda was asked for, but no CUDA device is available")
    if device == "cuda" and nproc > torch.cuda.device_count():
        raise RnnlabError(
            f"--nproc {nproc} --device cuda needs a GPU for each process; this machine has "
            f"{torch.cuda.device_count()}"
        )


def _fit_and_report(run, config, built, *, resume: bool, checkpoint, quiet: bool, nproc: int = 1,
                    world=None) -> None:  # fmt: skip
    """Fit the (task, network) ``built`` from ``config`` in ``run`` and print how it ended:
    in ``nproc`` local processes, or as one process of a torchrun ``world`` (rank 0 prints)."""
    from rnnlab.train.interrupt import StopOnSignals
    from rnnlab.train.progress import ProgressDisplay
    from rnnlab.train.trainer import fit

    task, network = built
    device = next(network.parameters()).device.type
    main = world is None or world.main
    mode = "quiet" if quiet or not main else "auto"
    with StopOnSignals() as stop:  # SIGINT (Ctrl-C), SIGTERM (a pre-emption): checkpoint, stop
        if nproc > 1:
            from rnnlab.train.launch import fit_run_parallel

            result = fit_run_parallel(
                run, nproc, network=network, resume=resume, checkpoint=checkpoint,
                device=device, display=mode, should_stop=stop,
            )  # fmt: skip
        else:
            from rnnlab.train.distributed import DataParallel

            result = fit(
                network, task, config.training, run, resume=resume, checkpoint=checkpoint,
                device=device, display=ProgressDisplay(mode), should_stop=stop,
                data_parallel=None if world is None else DataParallel(),
            )  # fmt: skip
    interrupted = result.reason == "interrupted"
    status = (stop.exit_status if stop() else 143) if interrupted else 0  # 130 SIGINT, 143 SIGTERM
    if not main:
        sys.exit(status)
    validation = "  ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
    click.echo(f"{result.reason} at step {result.step} (epoch {result.epoch})  {validation}")
    if interrupted:
        suffix = f" --nproc {nproc}" if nproc > 1 else ""
        click.echo(f"continue with: rnnlab resume {run.path}{suffix}")
        sys.exit(status)  # 128 + N: 130 for SIGINT, 143 for SIGTERM
    click.echo(f"evaluate with: rnnlab evaluate {run.path} --split test")


def _is_policy(config) -> bool:
    from rnnlab.rl.config import PolicyRunConfig

    return isinstance(config, PolicyRunConfig)


def _check_policy_options(device: str, nproc: int) -> None:
    import os

    if device != "cpu" or nproc != 1 or "RANK" in os.environ:
        raise RnnlabError("policy runs train in one process on the CPU (no --device cuda, "
                          "--nproc or torchrun)")  # fmt: skip


def _fit_policy_and_report(run, config, *, resume: bool, checkpoint, quiet: bool) -> None:
    from rnnlab.train.interrupt import StopOnSignals
    from rnnlab.train.policy_run import fit_policy_run

    echo = None if quiet else (lambda line: click.echo(line, err=True))
    with StopOnSignals() as stop:
        result = fit_policy_run(run, config, resume=resume, checkpoint=checkpoint, echo=echo,
                                should_stop=stop)  # fmt: skip
    click.echo(f"{result.reason} at update {result.step} ({result.env_steps} env steps, "
               f"{result.seconds:.1f} s, {result.cpu_seconds:.1f} s of CPU)")  # fmt: skip
    if result.reason == "interrupted":
        click.echo(f"continue with: rnnlab resume {run.path}")
        sys.exit(stop.exit_status if stop() else 143)
    click.echo(f"mean return {result.evaluation.mean_return:.4g} over "
               f"{len(result.evaluation.returns)} episodes")  # fmt: skip
    click.echo(f"evaluate with: rnnlab evaluate {run.path} --json")


def _evaluate_policies(runs, as_json: bool, checkpoint, episodes, seed: int) -> None:
    from rnnlab.train.policy_run import evaluate_policy_run

    if len(runs) != 1:
        raise RnnlabError("policy runs are evaluated one at a time; give one RUN_DIR")
    metrics = evaluate_policy_run(runs[0], checkpoint, episodes, seed)
    if as_json:
        click.echo(json.dumps(metrics))
        return
    for name, value in metrics.items():
        if isinstance(value, int | float):
            click.echo(f"{name}: {value:.6g}")


def _diverged(error: RnnlabError) -> bool:
    """Whether ``error`` is a training that diverged (exit status 1: not a user mistake)."""
    # Importing the trainer here would import torch for every mistake, such as a missing file;
    # a TrainingDivergedError can only exist once the trainer module has been imported.
    trainer = sys.modules.get("rnnlab.train.trainer")
    return trainer is not None and isinstance(error, trainer.TrainingDivergedError)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; user mistakes become one ``error:`` line and exit status 2."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="rnnlab", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.format_message())  # a bare `rnnlab` asks for help: give it
        sys.exit(0)
    except click.UsageError as error:
        if debug:
            raise
        hint = f" (see {error.ctx.command_path} --help)" if error.ctx else ""
        click.echo(f"error: {error.format_message()}{hint}", err=True)
        sys.exit(2)
    except RnnlabError as error:
        if debug:
            raise
        click.echo(f"error: {error}", err=True)
        sys.exit(1 if _diverged(error) else 2)
    except KeyboardInterrupt:
        click.echo("interrupted; continue from the last checkpoint with `rnnlab resume`", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
