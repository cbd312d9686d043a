# LLM gateway. `make run` serves UI + REST API + proxy on one port; `make test` runs every test.

PORT ?= 8080
# Only this machine can reach `make run` unless HOST says otherwise (e.g. HOST=0.0.0.0 to expose it).
HOST ?= 127.0.0.1
VENV ?= .venv
BUN_VERSION ?= 1.4.4

PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
REFLEX := $(VENV)/bin/reflex
TOOLS_BIN := $(CURDIR)/.tools/node_modules/.bin
BUN := $(TOOLS_BIN)/bun

# Reflex's own bun download does not work here: it uses the bun that `install` puts in .tools.
export PATH := $(TOOLS_BIN):$(PATH)
export REFLEX_CHECK_LATEST_VERSION := false
# The UI's server-side code calls the REST API on this same server (through loopback when it listens everywhere).
UI_API_HOST := $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))
export GATEWAY_UI_API_URL ?= http://$(UI_API_HOST):$(PORT)

.PHONY: install run serve test lint check

## install: Python venv with pinned packages, bun, and the UI's frontend packages (later runs work offline)
install: $(VENV)/.installed $(BUN) .web/reflex.json

$(PYTHON):
	python3 -m venv $(VENV)

$(VENV)/.installed: $(PYTHON) requirements.txt pyproject.toml
	$(PIP) install --disable-pip-version-check -r requirements.txt
	@# The server extra, held to the pinned versions just installed (the plain package is the CLI alone).
	$(PIP) install --disable-pip-version-check -e ".[server]" -c requirements.txt
	touch $@

# bun and Claude Code fetch their platform binary in an install script. npm (11.16+) warns about every install
# script its project has not approved, and npm 12 will not run them: .tools/package.json approves exactly these.
define tools_manifest
	@mkdir -p .tools
	@test -f .tools/package.json || echo '{"private": true}' > .tools/package.json
	@npm pkg set --prefix .tools --json "allowScripts.bun=true" "allowScripts[@anthropic-ai/claude-code]=true"
endef

$(BUN):
	$(tools_manifest)
	npm install --prefix .tools --save-exact --no-fund --no-audit bun@$(BUN_VERSION)

# Compiling the UI once creates .web/ and installs its node packages into it.
.web/reflex.json: $(VENV)/.installed $(BUN)
	$(REFLEX) compile

## run: serve UI + API + proxy on http://127.0.0.1:$(PORT) (foreground; Ctrl-C stops it; HOST=0.0.0.0 exposes it)
run: install
	$(MAKE) --no-print-directory serve

## serve: what `run` starts, without installing. The app itself migrates the DB and creates the first admin.
serve:
	$(REFLEX) run --env prod --single-port --frontend-port $(PORT) --backend-host $(HOST)

# The real CLIs the proxy tests drive end to end (pinned to the versions the captured fixtures came from).
CLAUDE_CODE_VERSION ?= 2.1.197
CODEX_VERSION ?= 0.171.0
CLIENT_CLIS := $(TOOLS_BIN)/claude $(TOOLS_BIN)/codex

$(CLIENT_CLIS) &:
	$(tools_manifest)
	npm install --prefix .tools --save-exact --no-fund --no-audit \
		@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) @openai/codex@$(CODEX_VERSION)

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --disable-pip-version-check -r requirements-dev.txt
	touch $@

## test: every test, including the browser tests (Debian chromium, installed here when missing and root)
test: install $(VENV)/.installed-dev $(CLIENT_CLIS)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
		else echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2; exit 1; fi; \
	fi
	$(MAKE) --no-print-directory check
	@# No `|| true` here: pytest's exit code 5 (no tests collected) must fail the target like any failure.
	$(VENV)/bin/pytest tests/

## lint: ruff (lint and formatting) and the strict type check of gateway_api
lint: $(VENV)/.installed-dev
	$(MAKE) --no-print-directory check

check:
	$(VENV)/bin/ruff check gateway_api gateway_ui tests bench rxconfig.py
	$(VENV)/bin/ruff format --check gateway_api gateway_ui tests bench rxconfig.py
	$(VENV)/bin/mypy

.PHONY: bench
## bench: side-by-side proxy benchmark, see bench/README.md (BENCH_ARGS=--quick for a smoke run; root installs nginx/wrk)
bench: $(VENV)/.installed
	$(PYTHON) bench/run.py $(BENCH_ARGS)
