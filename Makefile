# Two commands on a fresh machine: `make demo` and `make test`. Both create the virtual
# environment on first use and install rnnlab with the pinned versions of constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow format clean clean-numba

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	@# librosa compiles its numba functions when first imported (about 35 s here, pitch tracking
	@# included), into its own cache in the environment: once, at install, not in the first run.
	$(BIN)/python -c "import librosa; librosa.feature.melspectrogram"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/rnnlab replicate elman1990 --seeds 1 --out runs/elman1990-demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: clean-numba
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache

# numba's on-disk cache notices edits to a compiled function's own file, not to the files of the
# functions it calls (kernels/blas.py, vmath.py, common.py): clear it after editing those.
clean-numba:
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete
