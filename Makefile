# Delius integrations: Resettlement Passport API and workforce allocations, as Rust Lambda functions.
#
#   make test     formatting, clippy and every test, against a throwaway PostgreSQL
#   make run      the whole system on http://127.0.0.1:$${PORT:-8080}
#
# Tools the tests need (moto, slapd, the SAM linters) are installed by `make tools`,
# which `make test` runs first: Python tools go into .tools/venv under the repo.

SHELL := /bin/bash
CARGO ?= cargo
VENV := .tools/venv
PY_TOOLS := $(VENV)/.installed

.PHONY: test check fmt fmt-check clippy tools test-only run migrate

test: tools fmt-check clippy test-only

$(PY_TOOLS): scripts/python-requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r scripts/python-requirements.txt
	touch $@

tools: $(PY_TOOLS)
	@scripts/install-system-packages.sh

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Every test of the workspace against one throwaway PostgreSQL (or DATABASE_URL).
test-only:
	MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server scripts/with-postgres.sh $(CARGO) test --workspace
