# Two commands for a new user: `make book` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed

# nbgrader calls tools such as alembic from the PATH; the course's own tools come first.
export PATH := $(BIN):$(PATH)

.PHONY: book test lint bench clean venv proxy

venv: $(STAMP)

# The JupyterHub test (tests/test_hub.py) and deploy/ need configurable-http-proxy, which is
# an npm package: `npm ci` installs the version locked in deploy/package-lock.json.
PROXY := deploy/node_modules/.bin/configurable-http-proxy
proxy: $(PROXY)
$(PROXY): deploy/package.json deploy/package-lock.json
	@command -v npm >/dev/null || { echo "note: npm not found; the JupyterHub test needs it (apt-get install npm)"; exit 0; }
	npm ci --prefix deploy --no-audit --no-fund --loglevel=error
	@touch $@

# torch is installed first and pinned: 2.13.0 comes from the machine's local CPU wheel,
# and installing it before anything else keeps every later resolver step from pulling CUDA builds.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . -n -W --keep-going
	@echo
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

# Every core by default (pytest-xdist; tests/conftest.py groups what shares a fixture).
JOBS ?= auto
test: $(STAMP) proxy
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --durations=25 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf _build exercises/release exercises/submitted exercises/autograded exercises/feedback exercises/gradebook.db exercises/gradebook.db.lock
