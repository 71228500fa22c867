# Burgernet for developers: `make run` to try it, `make test` for the whole suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
# E2E=0 leaves the browser tests out (CI's PostgreSQL pass); PYTEST_ARGS adds pytest options.
E2E ?= 1
PYTEST_ARGS ?=

ifeq ($(E2E),0)
PYTEST_MARK := -m "not e2e"
endif

.PHONY: install run test lint

# (Re)creates the venv when it is missing or broken, then installs the pinned packages
# whenever requirements.txt changed since the last install. Tools run as `python -m` so
# that a moved venv (whose scripts' #! lines point at the old place) still works.
$(STAMP): requirements.txt
	@$(BIN)/python -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || { \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and \
	    "Burgernet needs Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0])' && \
	  echo "Creating $(VENV) with $$($(PYTHON) --version)" && \
	  $(PYTHON) -m venv --clear $(VENV); }
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements.txt
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@scripts/run-dev

test: $(STAMP)
	@if [ "$(E2E)" != 0 ] && [ ! -x "$(CHROMIUM)" ]; then \
	  echo "The browser tests need Debian's Chromium at $(CHROMIUM): apt-get install chromium" >&2; \
	  exit 1; \
	fi
	$(BIN)/python -m pytest $(PYTEST_MARK) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	@# the layer contracts (pyproject.toml [tool.importlinter]); its script's #! may point
	@# at a moved venv, so through the venv's python
	$(BIN)/python -c "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
