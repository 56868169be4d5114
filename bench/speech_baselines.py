"""The HMM and DTW baselines of leave-one-speaker-out on FSDD, fold by fold, on the features and
splits of examples/spoken_digits.toml (the same as ``rnnlab evaluate RUN --split test`` reports
under ``baselines`` for a trained fold).

    python bench/speech_baselines.py [--dtw] [--speakers theo nicolas ...] [--cache DIR]

Prints one JSON line per fold: the speaker and each baseline's test accuracy.
"""

import argparse
import json
import time
from pathlib import Path

from rnnlab.evaluation.baselines.speech import evaluate_speech_baselines
from rnnlab.tasks.spoken_digits import SpokenDigits
from rnnlab.train.config import load_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "spoken_digits.toml"
SPEAKERS = ["theo", "nicolas", "george", "jackson", "lucas", "yweweler"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", nargs="+", default=SPEAKERS)
    parser.add_argument("--dtw", action="store_true", help="also DTW 1-NN (slow: N_train x N_test)")
    parser.add_argument("--cache", default=None, help="the feature cache directory")
    parser.add_argument("--states", type=int, default=5)
    parser.add_argument("--hmm", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--test-every", type=int, default=1, help="test on every k-th utterance (a subset)"
    )
    arguments = parser.parse_args()
    for speaker in arguments.speakers:
        overrides = [f"task.test_speaker={speaker!r}"]
        if arguments.cache:
            overrides.append(f"task.cache_dir={arguments.cache!r}")
        config = load_config(EXAMPLE, overrides)
        task = SpokenDigits(config.task)
        train, test = task.utterances["train"], task.utterances["test"]
        every = arguments.test_every
        test_frames, test_labels = test.frames[::every], test.labels[::every]
        start = time.perf_counter()
        result = evaluate_speech_baselines(
            (train.frames, train.labels), (test_frames, test_labels),
            n_states=arguments.states, dtw=arguments.dtw, hmm=arguments.hmm,
        )  # fmt: skip
        accuracies = {name: scores["accuracy"] for name, scores in result.items()}
        seconds = round(time.perf_counter() - start, 1)
        record = {"speaker": speaker, "test": len(test_labels), **accuracies, "seconds": seconds}
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
