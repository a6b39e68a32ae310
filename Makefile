# Every target bootstraps .venv itself and is a no-op install when pyproject.toml is unchanged.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo serve test lint format clean eval-gate

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

# The eval gate: suites on the small committed datasets, fails naming each regressed metric.
eval-gate: $(STAMP)
	$(BIN)/talentsync eval gate --out var/evals/gate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core tools agents api bench evals vectorstore prompts

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
