# The two commands of the README's Quick start, and what they stand on.
# `make campaign` sets everything up that is missing, then runs a short real campaign
# against a real Kafka cluster and prints the verdict; `make test` runs the whole suite.

VENV    ?= .venv
PYTHON  ?= python3
PROZESS := $(VENV)/bin/prozess
PYTEST  := $(VENV)/bin/pytest
CAMPAIGN_ARGS ?= --workload queue --preset safe --faults partition+kill --time-limit 40 --seed 1 --name quickstart

.PHONY: venv setup campaign test test-fast clean-results

venv: $(VENV)/.installed

# setuptools notes (as a warning) that an editable install of mapped folders uses a meta path finder;
# that is how prozess.cluster etc. resolve to cluster/ etc., so the note is silenced.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(VENV)/bin/pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

setup: venv
	$(PROZESS) setup

campaign: setup
	$(PROZESS) run $(CAMPAIGN_ARGS)

# The suite has a short test of every system, so it sets up every one (Tansu: a cargo build, once).
test: venv
	$(PROZESS) setup --all
	$(PYTEST) -p no:cacheprovider tests

test-fast: venv
	$(PYTEST) -q -m "not integration and not slow and not browser" tests

# Deletes run directories only (those holding test.json or history.jsonl), under
# $PROZESS_RESULTS_DIR or ./results; other folders and files stay.
clean-results:
	$(VENV)/bin/python -c 'from prozess.store import clean_results; [print("removed", p) for p in clean_results()]'
