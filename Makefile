# Two commands do everything: `make dev` runs the whole system locally, `make test` runs every test.
# Both install what they need on first use (python3, node/npm and java must be on the machine).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
NODE_DIR := deploy/local
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: dev up down test test-unit lint scan sync check-sync openapi package deploy admin logs destroy bench load clean help deps

help:
	@echo "make dev      run DynamoDB Local, the Cognito emulator and both APIs in the foreground"
	@echo "make test     make lint, then every test (unit, integration against a fresh local stack, deploy checks)"
	@echo "make lint     ruff + mypy;  make scan STAGE=dev|prod  checkov over the packaged templates"
	@echo "make up/down  start/stop the local stack in the background (for scripts)"
	@echo "make sync     copy chalicelib_shared/ into both apps"
	@echo "make package STAGE=dev|prod (for the runtime in deploy/project.py), make deploy STAGE=..., make admin EMAIL=..."
	@echo "make logs STAGE=... APP=users|orders [FUNCTION=authorizer], make destroy STAGE=... [CONFIRM=prod]"
	@echo "make bench    cold start / request path benchmark;  make load  bounded load run"

$(VENV)/.installed: requirements-dev.txt users_app/requirements.txt orders_app/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "python3 is required: install Python 3.11+ and retry"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for DynamoDB Local and Swagger UI: install Node.js/npm and retry"; exit 1; }
	@# --ignore-scripts: no package needs one; swagger-ui-dist's @scarf/scarf would report the install over the network
	@cd $(NODE_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

deps: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed $(CHECKOV_VENV)/.installed

sync: $(VENV)/.installed
	@$(PY) deploy/codegen/sync_shared.py

check-sync: $(VENV)/.installed
	@$(PY) deploy/codegen/sync_shared.py --check

openapi: $(VENV)/.installed
	@$(PY) deploy/codegen/openapi.py

dev: deps
	@$(PY) -m deploy.local.stack run

up: deps
	@$(PY) -m deploy.local.stack up

down: $(VENV)/.installed
	@$(PY) -m deploy.local.stack down

# Two pytest-xdist workers (this is a 2-core machine): a file's tests stay on one worker, tests/deploy is
# one unit (tests/conftest.py). PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
test: deps lint
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# ruff over the tree; mypy per app (both have an `app` module and a `chalicelib` package), then the tooling.
lint: $(VENV)/.installed
	@$(PY) -m ruff check --quiet .
	@cd users_app && ../$(PY) -m mypy --config-file ../pyproject.toml app.py chalicelib
	@cd orders_app && ../$(PY) -m mypy --config-file ../pyproject.toml app.py chalicelib
	@$(PY) -m mypy deploy chalicelib_shared

test-unit: deps
	@$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .venv-* $(NODE_DIR)/node_modules .local deploy/build .pytest_cache

# ---- AWS deployment (deploy/README.md) ----
# `make admin` targets the local stack unless STAGE is given on the command line or in the environment.
ADMIN_STAGE := $(if $(filter command line environment,$(origin STAGE)),$(STAGE),local)
BUILD_DIR ?= deploy/build
REGION_ARG = $(if $(REGION),--region $(REGION))

# ARCH=x86_64 (default: each stage's lambda_architecture, arm64), TRAFFIC_SHIFTING=AllAtOnce (prod: canary).
# The Lambda runtime is LAMBDA_RUNTIME in deploy/project.py: chalice and the build step run from its own
# virtualenv (.venv-python3.13, requirements-package.txt), created on first use from a python3.13 on PATH, in
# pyenv, or LAMBDA_PYTHON=/path/to/python3.13.
PACKAGE_ARGS = --stage $(STAGE) --build-dir $(BUILD_DIR) $(if $(ARCH),--arch $(ARCH)) \
	$(if $(TRAFFIC_SHIFTING),--traffic-shifting $(TRAFFIC_SHIFTING))

package: $(VENV)/.installed
	@$(PY) -m deploy.aws.package $(PACKAGE_ARGS)

deploy: package
	@$(PY) -m deploy.aws.deploy --stage $(STAGE) --build-dir $(BUILD_DIR) $(REGION_ARG) $(if $(BUCKET),--bucket $(BUCKET)) \
		$(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL)) $(if $(CREATE_APIGW_ROLE),--create-apigateway-role $(CREATE_APIGW_ROLE)) \
		$(if $(WAF),--waf $(WAF))

# checkov over the packaged templates of STAGE (0 failed; every skip is reasoned in the resource's Metadata).
scan: package $(CHECKOV_VENV)/.installed
	@$(CHECKOV_VENV)/bin/checkov --skip-download --framework cloudformation --compact --quiet \
		-f $(BUILD_DIR)/users/$(STAGE)/sam.json -f $(BUILD_DIR)/orders/$(STAGE)/sam.json

# Follows one function's CloudWatch logs (the deployed stack's log groups). SINCE=10m, FOLLOW=false for one read.
logs: $(VENV)/.installed
	@test -n "$(APP)" || { echo "usage: make logs STAGE=dev|prod APP=users|orders [FUNCTION=authorizer]"; exit 2; }
	@$(PY) -m deploy.aws.logs --stage $(STAGE) --app $(APP) $(REGION_ARG) $(if $(FUNCTION),--function $(FUNCTION)) \
		$(if $(SINCE),--since $(SINCE)) $(if $(filter false,$(FOLLOW)),--no-follow)

# Deletes both stacks of a stage, orders first; prod only with CONFIRM=prod (its tables and pool are retained).
destroy: $(VENV)/.installed
	@$(PY) -m deploy.aws.destroy --stage $(STAGE) $(REGION_ARG) $(if $(CONFIRM),--confirm $(CONFIRM))

admin: $(VENV)/.installed
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=you@example.com [STAGE=local|dev|prod]"; exit 2; }
	@$(PY) -m deploy.aws.admin --email "$(EMAIL)" --stage $(ADMIN_STAGE) $(REGION_ARG)

# ---- performance: cold start, warm path, authorizer, artifact sizes (deploy/perf/bench/; README.md, "Performance") ----
# Reuses deploy/build/<app>/dev when fresh (else packages it). BENCH_ARGS e.g. "--quick" or "--runs 25 --strict".
bench: deps
	@$(PY) -m deploy.perf.bench --json deploy/build/bench.json $(BENCH_ARGS)

# ---- load run (deploy/perf/load.py) ----
# `make load`: the full bounded load run (60 s, 20 concurrent clients) against `make up`'s stack,
# then the exactly-once audit; fails unless 0 lost, 0 duplicated and 0 5xx. A stack that is already
# running is used and left running; otherwise `make up` starts one and `make down` stops it after.
# Change the run with LOAD_ARGS, e.g. make load LOAD_ARGS="--duration 30 --clients 10 --max-requests 5000".
LOAD_ARGS ?=
load: deps
	@if $(PY) -m deploy.perf.load --check-running; then \
		$(PY) -m deploy.perf.load $(LOAD_ARGS); \
	else \
		$(MAKE) --no-print-directory up || exit 1; \
		$(PY) -m deploy.perf.load $(LOAD_ARGS); rc=$$?; \
		$(MAKE) --no-print-directory down; exit $$rc; \
	fi
