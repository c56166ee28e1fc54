# whmcs-bridge: `make demo` and `make test` are the two set-up commands on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint services screenshots clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/whmcs-bridge demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# MariaDB (for the tests on the stock WHMCS schemas) and php-cli (for the hook file's tests).
services:
	@bash .ci/services

# Two workers (pytest-xdist): the MariaDB tests wait on the server more than on the CPU.
test: $(STAMP) services lint
	$(BIN)/pytest -q -n 2

# Each tab of the staff page (WHMCS admin area) rendered against the sample panel, as PNG.
screenshots: $(STAMP) services
	$(BIN)/python -m whmcs_bridge.sandbox.staff_screenshots var/screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
