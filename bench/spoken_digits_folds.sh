#!/usr/bin/env bash
# Leave-one-speaker-out on FSDD, fold by fold: train examples/spoken_digits.toml with each test
# speaker, then evaluate on its test split with the HMM and DTW baselines of the same fold.
# Usage: bench/spoken_digits_folds.sh OUT [speaker ...] [-- --set key=value ...]
# (run from the repository root; every fold writes OUT/<speaker>/ and OUT/<speaker>.json).
# NO_BASELINES=1 leaves the baselines out (bench/speech_baselines.py computes them per fold).
set -euo pipefail
out=$1; shift
speakers=(); while [[ $# -gt 0 && $1 != "--" ]]; do speakers+=("$1"); shift; done
[[ ${1:-} == "--" ]] && shift
[[ ${#speakers[@]} -eq 0 ]] && speakers=(theo nicolas george jackson lucas yweweler)
for speaker in "${speakers[@]}"; do
  rnnlab train examples/spoken_digits.toml --out "$out/$speaker" --quiet \
    --set task.test_speaker="$speaker" "$@"
  rnnlab evaluate "$out/$speaker" --split test --json ${NO_BASELINES:+--no-baselines} \
    > "$out/$speaker.json"
  python -c "import json,sys; m=json.load(open(sys.argv[1])); print(sys.argv[2], m['accuracy'], {k: v['accuracy'] for k, v in m.get('baselines', {}).items()})" "$out/$speaker.json" "$speaker"
done
