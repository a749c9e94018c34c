# Switchyard: two commands for a fresh machine.
#   make demo   set up .venv if needed, run the studio scenario in the simulator
#   make test   set up .venv if needed, run every test and gate
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv lint typecheck pytest browser bench soak check schematic editor clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-device.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-device.txt
	touch $(STAMP)

# make demo PRESET=5 plays the studio through preset 5 (the split)
demo: $(STAMP)
	$(PY) -m sim demo $(if $(PRESET),--preset $(PRESET))

test: lint typecheck pytest

lint: $(STAMP)
	$(PY) -m ruff check .

# Device code against the CircuitPython stubs (not the simulator's doubles).
typecheck: $(STAMP)
	$(PY) -m mypy --config-file pyproject.toml lib/switchyard code.py boot.py boards

pytest: $(STAMP) browser
	SWITCHYARD_CHROMIUM=$(CHROMIUM) $(PY) -P -m pytest

# The browser tests/test_editor_browser.py drives: Debian's chromium (Playwright's own
# browser download is not used). Installed here when missing and we are root.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the editor's browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
	  echo "error: the editor's browser test needs Chromium at $(CHROMIUM): install it" \
	    "(sudo apt-get install chromium), or name another with CHROMIUM=PATH" >&2; \
	  exit 1; \
	fi

bench: $(STAMP)
	$(PY) tools/bench.py --json build/bench.json

# An hour of virtual time: the studio with garbage bursts and cables pulled mid-SysEx
# (also part of make bench, as its "soak" figures).
soak: $(STAMP)
	$(PY) tools/soak.py --json build/soak.json

check: $(STAMP)
	$(PY) tools/check.py presets.json

# The preset editor in the browser, on 127.0.0.1 only; it prints its address.
EDITOR_PORT ?= 8765
editor: $(STAMP)
	$(PY) -m editor --port $(EDITOR_PORT)

schematic: $(STAMP)
	$(PY) hardware/schematic.py

# Switchyard on CircuitPython itself: a CircuitPython UF2 for raspberry_pi_pico booted in
# rp2040js (emu/README.md). Neither the UF2 nor the RP2040 bootrom is in this repository.
#   make emu UF2=adafruit-circuitpython-raspberry_pi_pico-en_US-9.2.9.uf2 BOOTROM=bootrom.bin
#            [MPY_CROSS=path/to/mpy-cross] [MICROPYTHON=path/to/circuitpython/ports/unix/micropython]
.PHONY: emu
emu:
	@test -n "$(UF2)" || { echo "make emu needs UF2=FILE, a CircuitPython 9 or 10 UF2 for raspberry_pi_pico (circuitpython.org), and BOOTROM=FILE (emu/README.md)" >&2; exit 2; }
	@test -f "$(UF2)" || { echo "make emu: UF2=$(UF2): no such file (a CircuitPython UF2 for raspberry_pi_pico)" >&2; exit 2; }
	@test -f "$(BOOTROM)" || { echo "make emu needs BOOTROM=FILE, the RP2040's 16 KB bootrom (emu/README.md)" >&2; exit 2; }
	@$(MAKE) --no-print-directory venv
	test -d emu/node_modules/rp2040js || npm ci --prefix emu --no-audit --no-fund
	mkdir -p build
	$(PY) emu/pico.py --uf2 "$(UF2)" --bootrom "$(BOOTROM)" $(if $(MPY_CROSS),--mpy-cross "$(MPY_CROSS)") --calibrate --json build/emu.json
	$(if $(MICROPYTHON),$(PY) emu/cpunix.py --micropython "$(MICROPYTHON)" $(if $(MPY_CROSS),--mpy-cross "$(MPY_CROSS)") --json build/emu-unix.json)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
