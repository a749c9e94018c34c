# Switchyard: two commands for a fresh machine.
#   make demo   set up .venv if needed, run the studio scenario in the simulator
#   make test   set up .venv if needed, run every test and gate
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv lint typecheck pytest bench check schematic editor clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-device.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-device.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m sim demo

test: lint typecheck pytest

lint: $(STAMP)
	$(PY) -m ruff check .

# Device code against the CircuitPython stubs (not the simulator's doubles).
typecheck: $(STAMP)
	$(PY) -m mypy --config-file pyproject.toml lib/switchyard code.py boot.py boards

pytest: $(STAMP)
	$(PY) -P -m pytest

bench: $(STAMP)
	$(PY) tools/bench.py --json build/bench.json

check: $(STAMP)
	$(PY) tools/check.py presets.json

# The preset editor in the browser, on 127.0.0.1 only; it prints its address.
EDITOR_PORT ?= 8765
editor: $(STAMP)
	$(PY) -m editor --port $(EDITOR_PORT)

schematic: $(STAMP)
	$(PY) hardware/schematic.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
