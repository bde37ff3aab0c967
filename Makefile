# DTHEINFRA -- every entry point a newcomer needs. `make help` lists them by group.
# Fetched tools, jars, virtualenvs and service data live in the git-ignored runtime folder $(RUNTIME).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

RUNTIME      ?= $(CURDIR)/.runtime
PYTHON       ?= python3.11
UV_VERSION   := 0.13.9
UV           := $(RUNTIME)/tools/bin/uv
VENV         := $(CURDIR)/.venv
DP           := $(VENV)/bin/dp
STAMPS       := $(RUNTIME)/stamps
# uv must never download a Python build (only the package registries are reachable): use the machine's 3.11.
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# Engines whose pins clash with the main environment get a uv project (pyproject.toml + uv.lock) of their own;
# each listed folder that has one is synced into $(RUNTIME)/venvs/<folder name>.
DBT_PROJECT  := platform/transformation/dbt/project
ENGINE_ENVS  := platform/processing/flink-jobs platform/orchestration/airflow platform/transformation/dbt
PRESENT_ENGINE_ENVS := $(foreach d,$(ENGINE_ENVS),$(if $(wildcard $(d)/pyproject.toml),$(d)))

WORKSPACE_PYPROJECTS := pyproject.toml $(wildcard libs/python/*/pyproject.toml platform/*/pyproject.toml platform/*/*/pyproject.toml)
TF_DIR       := infra/terraform
TF           := $(shell command -v tofu 2>/dev/null || command -v terraform 2>/dev/null)
# A TF_CLI_CONFIG_FILE naming a missing file makes every terraform call warn: read no CLI config then.
ifneq ($(TF_CLI_CONFIG_FILE),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
export TF_CLI_CONFIG_FILE := /dev/null
endif
endif
# Terraform linters, fetched once into the runtime folder: checkov from PyPI in a virtualenv of its own, tflint built
# from the Go module proxy (its built-in terraform ruleset needs no plugin download).
CHECKOV_VERSION := 3.3.30
CHECKOV      := $(RUNTIME)/venvs/checkov/bin/checkov
TFLINT_VERSION := 0.64.0
TFLINT       := $(RUNTIME)/tools/bin/tflint
PYTEST_ARGS  ?=

##@ Getting started
.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } \
	  /^[a-zA-Z0-9_.-]+:.*##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo

.PHONY: demo
demo: install ## The whole flow, reconciled: stack, topics, speed + batch layers, report (DEMO_REPORT, DEMO_ARGS)
	@$(DP) demo $(if $(DEMO_REPORT),--report "$(DEMO_REPORT)") $(DEMO_ARGS)

.PHONY: chaos
chaos: install ## Kill -9 every component under load (10 seeded rounds), then reconcile every layer exactly (CHAOS_ARGS)
	@$(DP) chaos $(CHAOS_ARGS)

.PHONY: soak
soak: install ## The platform at a steady rate (30 min; SOAK_ARGS="--minutes 10"): memory and checkpoints must stay flat
	@$(DP) soak $(SOAK_ARGS)

##@ Install and build
.PHONY: install
install: $(STAMPS)/main-env $(foreach d,$(PRESENT_ENGINE_ENVS),$(STAMPS)/env-$(notdir $(d))) $(STAMPS)/local-artifacts ## Install everything (idempotent; a second run does no network work)

$(UV):
	@echo "==> installing uv $(UV_VERSION) into $(RUNTIME)/tools"
	@$(PYTHON) -m venv $(RUNTIME)/tools
	@$(RUNTIME)/tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMPS)/main-env: $(UV) uv.lock $(WORKSPACE_PYPROJECTS)
	@echo "==> syncing the main environment ($(VENV)) from uv.lock"
	@$(UV) sync --locked --all-packages
	@mkdir -p $(STAMPS) && touch $@

# Kafka, the REST catalog, the Spark/Flink jars (Maven Central), versitygw (Go proxy), PostgreSQL (Debian).
$(STAMPS)/local-artifacts: $(STAMPS)/main-env $(wildcard local/runtime/*/pom.xml) libs/python/dp-localstack/src/dp_localstack/install.py
	@echo "==> fetching the local stack's artifacts into $(RUNTIME)"
	@$(DP) local install
	@touch $@

define ENGINE_ENV_RULE
$(STAMPS)/env-$(notdir $(1)): $(UV) $(1)/pyproject.toml $(1)/uv.lock
	@echo "==> syncing the $(notdir $(1)) environment ($(1)) into $(RUNTIME)/venvs/$(notdir $(1))"
	@UV_PROJECT_ENVIRONMENT=$(RUNTIME)/venvs/$(notdir $(1)) $(UV) sync --locked --project $(1)
	@mkdir -p $(STAMPS) && touch $$@
endef
$(foreach d,$(PRESENT_ENGINE_ENVS),$(eval $(call ENGINE_ENV_RULE,$(d))))

.PHONY: build
build: install ## Build wheels of every workspace package into dist/
	@$(UV) build --all-packages --out-dir dist --quiet
	@ls dist

.PHONY: lock
lock: $(UV) ## Re-resolve uv.lock after changing dependencies
	@$(UV) lock
	@for d in $(PRESENT_ENGINE_ENVS); do $(UV) lock --project $$d; done

##@ Quality
.PHONY: lint
lint: py-lint import-lint config-validate contracts-check sources-check api-check dbt-lint tf-lint ## Every static check (ruff, mypy, layers, config, contracts, dbt sources, the Data API's OpenAPI file, dbt parse + SQL style, terraform)

.PHONY: format
format: py-format ## Format everything in place
	@if [ -d $(TF_DIR) ] && [ -n "$(TF)" ]; then $(TF) fmt -recursive $(TF_DIR); fi

.PHONY: py-lint
py-lint: install ## ruff (lint + format check) and mypy --strict
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy $(wildcard libs/python/*/src platform/*/src platform/*/*/src) tests
	@# one call per tests folder: each may hold a conftest.py, and mypy names them all `conftest`
	@for d in $(wildcard libs/python/*/tests platform/*/tests platform/*/*/tests); do $(VENV)/bin/mypy $$d; done

.PHONY: import-lint
import-lint: install ## The layer rules (import-linter contracts in pyproject.toml): libs never import units, and so on
	@PYTHONPATH=platform/processing/flink-jobs/src $(VENV)/bin/lint-imports --no-cache

.PHONY: py-format
py-format: install ## ruff format and safe fixes
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

.PHONY: config-validate
config-validate: install ## Load every environment of config/ and report every problem
	@$(DP) config validate

.PHONY: contracts-check
contracts-check: install ## Lint every contract; check changed ones against git HEAD (AGAINST=git:REF|registry)
	@$(DP) contracts check --against $(or $(AGAINST),git:HEAD)

.PHONY: sources-check
sources-check: install ## The dbt project's _sources.yml is what the contracts give (else: dp transform sources)
	@$(DP) transform sources --check

.PHONY: api-check
api-check: install ## The Data API's committed openapi.json is what the code serves (else: dp serve openapi)
	@$(DP) serve openapi --check

.PHONY: dbt-lint
dbt-lint: install ## The dbt project parses (dbt parse, no Spark session) and its SQL keeps the style of its .sqlfluff
	@$(DP) transform dbt parse
	@cd $(DBT_PROJECT) && $(VENV)/bin/sqlfluff lint models tests --nocolor

.PHONY: tf-lint
tf-lint: tf-fmt tflint checkov tf-test ## Terraform: fmt -check, tflint, checkov (offline) and the HCL structure tests

.PHONY: tf-fmt
tf-fmt: ## terraform/tofu fmt -check on infra/terraform
	@if [ ! -d $(TF_DIR) ]; then echo "tf-fmt: no Terraform code yet ($(TF_DIR))"; \
	elif [ -z "$(TF)" ]; then echo "tf-fmt: neither tofu nor terraform is on PATH" >&2; exit 1; \
	else $(TF) fmt -check -recursive $(TF_DIR); fi

.PHONY: tflint
tflint: $(STAMPS)/tflint-$(TFLINT_VERSION) ## tflint (built-in terraform ruleset, recommended preset) on every module and env
	@cd $(TF_DIR) && $(TFLINT) --recursive --config "$$PWD/.tflint.hcl"

.PHONY: checkov
checkov: $(STAMPS)/checkov-$(CHECKOV_VERSION) ## checkov on infra/terraform, offline; every skip is in the code with its reason
	@$(CHECKOV) --directory $(TF_DIR) --framework terraform --skip-download --quiet --compact

.PHONY: tf-test
tf-test: install ## The HCL structure tests: inputs typed, envs pass every input, config outputs exist, tags, IAM
	@$(VENV)/bin/pytest -q -p no:cacheprovider tests/unit/test_terraform.py

# Idempotent: a tflint of that version already in place is kept (the build takes ~5 min on 2 cores).
$(STAMPS)/tflint-$(TFLINT_VERSION):
	@if [[ "$$($(TFLINT) --version 2>/dev/null)" != *"version $(TFLINT_VERSION)"* ]]; then \
	  command -v go >/dev/null || { echo "tflint: Go is needed to build tflint $(TFLINT_VERSION) (go install)" >&2; exit 1; }; \
	  echo "==> building tflint $(TFLINT_VERSION) from the Go module proxy into $(RUNTIME)/tools/bin (once, ~5 min)"; \
	  GOBIN=$(RUNTIME)/tools/bin GOFLAGS=-buildvcs=false go install github.com/terraform-linters/tflint@v$(TFLINT_VERSION); \
	fi
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/checkov-$(CHECKOV_VERSION): | $(UV)
	@if [[ "$$($(CHECKOV) --version 2>/dev/null)" != "$(CHECKOV_VERSION)" ]]; then \
	  echo "==> installing checkov $(CHECKOV_VERSION) into $(RUNTIME)/venvs/checkov"; \
	  $(UV) venv --quiet --allow-existing $(RUNTIME)/venvs/checkov; \
	  $(UV) pip install --quiet --python $(RUNTIME)/venvs/checkov/bin/python "checkov==$(CHECKOV_VERSION)"; \
	fi
	@mkdir -p $(STAMPS) && touch $@

# Every env folder links to envs/_shared, so validating it validates them all. The providers come from the registry:
# where it cannot be reached this fails and says so (checkov, tflint and the HCL tests above run offline).
.PHONY: tf-validate
tf-validate: ## terraform/tofu validate of the environments (needs the provider registry; not part of `make lint`)
	@if [ ! -d $(TF_DIR) ]; then echo "tf-validate: no Terraform code yet ($(TF_DIR))"; \
	elif [ -z "$(TF)" ]; then echo "tf-validate: neither tofu nor terraform is on PATH" >&2; exit 1; \
	else export TF_DATA_DIR=$(RUNTIME)/terraform/envs; \
	  if ! log=$$($(TF) -chdir=$(TF_DIR)/envs/_shared init -backend=false -input=false -no-color 2>&1); then \
	    echo "$$log" | grep -E "Error|could not|no such host|timeout" >&2 || echo "$$log" >&2; \
	    echo "tf-validate: $(notdir $(TF)) could not fetch the providers (hashicorp/aws ~> 6.0);" \
	      "run it where the provider registry is reachable. Offline checks: make tf-lint" >&2; exit 1; \
	  fi; \
	  $(TF) -chdir=$(TF_DIR)/envs/_shared validate; fi

##@ Tests
.PHONY: test
test: install ## Every test tier: unit, then integration and e2e on the real local stack
	@$(VENV)/bin/pytest $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: install ## Unit tests only: no services, a few minutes
	@$(VENV)/bin/pytest -m unit $(PYTEST_ARGS)

.PHONY: test-integration
test-integration: install ## Integration tests on the real local stack (started if it is not running)
	@$(VENV)/bin/pytest -m integration $(PYTEST_ARGS)

.PHONY: test-e2e
test-e2e: install ## End-to-end tests: the batch and speed layers, the demo killed and rerun (the slow tier)
	@$(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

##@ Local stack (plain processes, no Docker)
.PHONY: local-up-core
local-up-core: install ## Start Kafka, the S3 store, PostgreSQL, the REST catalog, the schema registry, the Spark Thrift server (dbt) and the Data API
	@$(DP) local up --core

.PHONY: local-up
local-up: install ## local-up-core plus a Spark master+worker and a Flink session cluster
	@$(DP) local up

.PHONY: local-down
local-down: install ## Stop every local service (data is kept)
	@$(DP) local down

.PHONY: local-ps
local-ps: install ## One row per local service: port, pid, state, memory, log
	@$(DP) local ps

.PHONY: local-clean
local-clean: install ## Stop every local service and wipe its data and logs (fetched artifacts are kept)
	@$(DP) local clean --yes

##@ Benchmarks
.PHONY: bench-stack
bench-stack: install ## Restart the core stack; print seconds to healthy and resident memory per service
	@$(DP) local bench

.PHONY: bench-ingest
bench-ingest: install ## Simulator events/s through the producer core vs Kafka's ProducerPerformance (same broker)
	@$(DP) local up --core
	@$(DP) ingest bench

.PHONY: bench-stream
bench-stream: install ## Orders at a fixed rate through the enricher: throughput, event-to-queryable p50/p95/p99
	@$(DP) local up --core
	@$(DP) stream bench $(if $(RATE),--rate $(RATE)) $(if $(SECONDS),--seconds $(SECONDS))

.PHONY: bench-api
bench-api: install ## The Data API's p50/p95/p99 and requests/s vs the same SQL on its engine directly (BENCH_ARGS="--engine trino")
	@$(DP) local up --core
	@$(DP) serve bench $(BENCH_ARGS)

.PHONY: bench-batch
bench-batch: install ## 1M simulated events through bronze -> silver -> gold vs a bare Spark Parquet baseline
	@$(DP) local up --core
	@$(DP) batch bench $(if $(EVENTS),--events $(EVENTS))

##@ Housekeeping
.PHONY: clean
clean: ## Remove build outputs and caches (not the runtime folder)
	@rm -rf dist .mypy_cache .ruff_cache .pytest_cache
