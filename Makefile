# taskapi: `make run` serves the API on the embedded AWS emulator; `make test` runs every suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMULATOR_PORT ?= 4566
LOCAL_AWS := AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} AWS_REGION=$${AWS_REGION:-us-east-1}

.PHONY: venv run emulator test unit e2e lint clean lambda-venv package bench-package

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

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

# e2e tests use AWS_ENDPOINT_URL(_DYNAMODB) when set (LocalStack), else start their own emulator.
e2e: venv
	$(BIN)/python -m pytest tests/e2e

test: unit
	env -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_DYNAMODB $(BIN)/python -m pytest tests/e2e

clean:
	rm -rf $(VENV) $(LAMBDA_VENV) dist build staticfiles .pytest_cache

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
	$(BIN)/python bench/lambda_package.py
