# mlstack: every command a newcomer needs. Each target installs what it needs first.
#   make demo [RECIPE=text] [STOP_AFTER=stage]  local lifecycle on an embedded AWS (no account needed)
#   make test            lint + the offline test suite + template scanners + the deploy rehearsal
#   make rehearse        what cdk deploy ships (bundled packages, template, IAM, pipeline jobs), run offline
#   make synth           CloudFormation for every environment in cdk.out (offline)
#   make deploy ENV=dev  cdk deploy one environment (needs AWS credentials)
#   make bench           performance comparisons (benchmarks/), tables + JSON in .mlstack/bench
#   make serve [PORT=8080] [API_KEY=...]  the inference API on 127.0.0.1 (local model)
#   make image ENV=dev ACCOUNT=<id>  build and push the pipeline job image (Docker engine, AWS credentials)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CHECKOV_VENV := .mlstack/checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
ENV ?= dev
OUT ?= .mlstack/demo
RECIPE ?= tabular
STOP_AFTER ?=
PORT ?= 8080
API_KEY ?=

# Offline, quiet tooling: no CDK CLI telemetry or notices, no EC2 metadata lookups.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
# Local tools and benchmarks talk to the embedded AWS only; boto3 still wants a region.
export AWS_DEFAULT_REGION ?= us-east-1
CDK := npx --no-install cdk --no-notices

.PHONY: help install demo serve test lint scan rehearse synth deploy promote bench lock pipeline deid-model image clean

help:
	@sed -n '2,9p' Makefile

# Re-installed only when the lock changes. requirements*.txt hold the direct pins people edit;
# requirements.lock pins every transitive package (`make lock`), so pip never has to resolve
# (the SageMaker SDK's dependency tree sends pip's resolver into long backtracking).
$(PY_STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov conflicts with sagemaker-core's boto3 pin: it gets a virtual environment of its own.
$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-checkov.txt
	touch $@

install: $(PY_STAMP) $(NODE_STAMP)

demo: $(PY_STAMP)
	$(BIN)/mlstack demo --out $(OUT) --recipe $(RECIPE) $(if $(STOP_AFTER),--stop-after $(STOP_AFTER))

serve: $(PY_STAMP)
	$(BIN)/mlstack serve --port $(PORT) $(if $(API_KEY),--api-key $(API_KEY))

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/actionlint deploy/github/*.yml

test: install lint
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/pytest
	$(MAKE) scan
	$(MAKE) rehearse

# Bundled synth (packages for Python 3.12, cached by requirements hash), then every package and job run
# as deployed on an embedded AWS built from the template, every call checked against its role (docs/deployment.md).
rehearse: install
	$(BIN)/mlstack rehearse

# cfn-lint and checkov on every synthesized template; every allowed finding is in stacks/scanner_skips.json.
scan: synth $(CHECKOV_STAMP)
	$(BIN)/python -m stacks.scan cdk.out --checkov $(CHECKOV_VENV)/bin/checkov

# Templates only: Lambda assets are not bundled (bundling downloads wheels), so this
# cloud assembly is for review, not for deploy. `make deploy` bundles.
synth: install
	$(CDK) synth --quiet -c mlstack:bundle=false
	$(BIN)/python -m stacks.inventory cdk.out

deploy: install
	$(CDK) deploy -c env=$(ENV) --all --require-approval broadening

lock: $(PY_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip compile requirements-dev.txt --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--no-header --annotation-style line -o requirements.lock

# Re-render pipelines/definition.json after changing the pipeline (a test fails when it is stale).
pipeline: $(PY_STAMP)
	$(BIN)/python -m pipelines.definition

# Retrains the de-identifier's tagger on generated notes (Faker, fixed seed) into mlstack/deid/data/tagger.npz.
deid-model: $(PY_STAMP)
	$(BIN)/python -m mlstack.deid.vocabulary
	$(BIN)/python -m mlstack.deid.train

# Gated promotion staging -> prod for ENV (needs AWS credentials; exit 2 when refused).
promote: $(PY_STAMP)
	$(BIN)/mlstack promote --env $(ENV)

# The pipeline job image, built and pushed to the stack's repository <project>-<ENV>-training under its content
# tag, the tag the deployed pipeline names (needs a Docker engine, AWS credentials and the deployed stack):
#   make image ENV=dev ACCOUNT=123456789012 [REGION=us-east-1]
REGION ?= $(AWS_DEFAULT_REGION)
REPOSITORY = $(ACCOUNT).dkr.ecr.$(REGION).amazonaws.com/mlstack-$(ENV)-training
image: $(PY_STAMP)
	@test -n "$(ACCOUNT)" || { echo "make image: set ACCOUNT=<the deploying account id>"; exit 2; }
	$(eval TAG := $(shell $(BIN)/python -c "from pipelines.bundle import image_tag; print(image_tag())"))
	docker build -t $(REPOSITORY):$(TAG) pipelines/image
	aws ecr get-login-password --region $(REGION) | docker login --username AWS --password-stdin $(ACCOUNT).dkr.ecr.$(REGION).amazonaws.com
	docker push $(REPOSITORY):$(TAG)

bench: $(PY_STAMP)
	$(BIN)/python -m benchmarks.ingest_throughput
	$(BIN)/python -m benchmarks.lambda_package
	$(BIN)/python -m benchmarks.inference
	$(BIN)/python -m benchmarks.drift
	$(BIN)/python -m benchmarks.deid
	$(BIN)/python -m benchmarks.ner

clean:
	rm -rf cdk.out .mlstack .pytest_cache .ruff_cache
