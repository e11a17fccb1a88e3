# The two ways in: `make run` (install, set up demo data, serve) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test browser bench

# Compiled translation catalogs are built from the committed .po files, never committed.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po))

run: install
	$(BIN)/govflow init --demo
	$(BIN)/govflow serve --host $(HOST) --port $(PORT)

test: install-test browser
	$(BIN)/pytest -n 2 -q

install: $(VENV)/.installed node_modules/.installed $(CATALOGS)

install-test: install $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

# bpmn-js for the case page's diagram, from the npm registry (served by govflow, no CDN).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Browser tests drive Debian's Chromium; Playwright never downloads a browser.
# A CJK font gives diagram labels the widths Chinese users see.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list | grep -q WenQuanYi || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

bench: install
	$(BIN)/govflow bench engine
	$(BIN)/govflow bench inbox
	$(BIN)/govflow bench http
