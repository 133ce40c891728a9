# Two commands: `make run` (set up, migrate, load demo data, serve) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SIPAS := $(BIN)/sipas
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup lint i18n bench clean

# The links `make run` prints and the QR codes it serves point at where it listens, unless
# SIPAS_PUBLIC_BASE_URL says otherwise.
run: export SIPAS_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: setup
	$(SIPAS) db upgrade
	$(SIPAS) questionnaires publish
	$(SIPAS) demo load --if-empty --household-survey
	$(SIPAS) welcome
	$(SIPAS) run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed

# Reinstalled whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy survey_app questionnaires analysis
	# Strict on the layers typed end to end (ARCHITECTURE.md): scoring, forms, services.
	$(BIN)/mypy --strict analysis questionnaires survey_app/services

# Re-extract interface texts and compile the English catalogue after editing templates.
i18n: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o survey_app/translations/messages.pot .
	$(BIN)/pybabel update -i survey_app/translations/messages.pot -d survey_app/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d survey_app/translations

# Every benchmark in turn (about half an hour); each writes its section of bench/RESULTS.md.
bench: setup
	$(BIN)/python -m bench.page_weight
	$(BIN)/python -m bench.citizen_walkthrough
	$(BIN)/python -m bench.cli_startup
	$(BIN)/python -m bench.submit_load
	$(BIN)/python -m bench.kiosk_load
	$(BIN)/python -m bench.officer_reports
	$(BIN)/python -m bench.onestop --write
	$(BIN)/python bench/analysis/bench_scoring.py

clean:
	rm -rf $(VENV) instance .pytest_cache
