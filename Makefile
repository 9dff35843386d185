# Delius integrations: Resettlement Passport API and workforce allocations, as Rust Lambda functions.
#
#   make test     formatting, clippy and every test, against a throwaway PostgreSQL
#   make run      the whole system on http://127.0.0.1:$${PORT:-8080}
#
# `make tools` (which `make test` runs first) installs what the tests need: PostgreSQL, slapd,
# curl and zip from Debian when missing, and moto and the OpenAPI validator into .tools/venv.
# The template linters (.tools/sam-venv) and the build tools, SAM CLI and cargo-lambda
# (.tools/sam-cli), are installed by the scripts that use them, on first use.

SHELL := /bin/bash
CARGO ?= cargo
VENV := .tools/venv
PY_TOOLS := $(VENV)/.installed

.PHONY: test fmt fmt-check clippy tools test-only test-prepared lint-template lint-openapi run token package migrate

test: tools fmt-check clippy lint-template lint-openapi test-only test-prepared bench-smoke

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

# The crates that reach Delius again, with every statement prepared once per
# connection (DB_PREPARED_STATEMENTS=true, which the test databases' configs
# honour): both statement modes answer the same and keep every guarantee.
PREPARED_TEST_CRATES := $(addprefix -p ,$(filter-out authorizer,$(notdir $(wildcard functions/*))))
test-prepared:
	DB_PREPARED_STATEMENTS=true scripts/with-postgres.sh $(CARGO) test $(PREPARED_TEST_CRATES)

# cfn-lint on template.yaml, and on it after the SAM transform (offline).
lint-template:
	scripts/lint-template.sh

# docs/openapi.yaml is a valid OpenAPI 3.1 document (tests/openapi.rs checks it against the routes).
lint-openapi: tools
	$(VENV)/bin/openapi-spec-validator docs/openapi.yaml

# The whole system on http://127.0.0.1:$${PORT:-8080} (see README): PostgreSQL
# from DATABASE_URL or a throwaway one, stand-ins where nothing is configured.
run: tools
	scripts/with-postgres.sh $(CARGO) run --quiet -p local-stack

# A token from the running local stack: make token ROLES="PROBATION_API__RESETTLEMENT_PASSPORT__CASE_DETAIL"
# (roles separated by commas or spaces; USER_NAME=... sets the user).
token:
	@ROLES="$(ROLES)" USER_NAME="$(USER_NAME)" scripts/token.sh

# The schema migrations on the database at DATABASE_URL (a deliberate step, never a cold start).
migrate:
	@[ -n "$${DATABASE_URL:-}" ] || { echo "make migrate: set DATABASE_URL to the database to migrate" >&2; exit 2; }
	$(CARGO) run --quiet -p delius-admin -- migrate

# `sam build` of every function (arm64 unless ARCH=x86_64), checked (each bootstrap an ELF
# executable for ARCH, the built template pointing at it), with the zipped sizes.
package:
	scripts/package.sh

# Benchmarks (issue 7): cold starts, warm latency against the SQL floor,
# allocations and load, as one table and target/bench/results.json.
.PHONY: bench bench-smoke
BENCH_BINS := $(addprefix -p ,$(notdir $(wildcard functions/*))) -p local-stack

# One cargo command builds the functions and the bench, so both see the same
# features and nothing is compiled twice. The profile is `release-fast` (no
# cross-crate LTO, 16 codegen units: much faster to build, same code paths);
# the table says so. BENCH_PROFILE=release measures the deployed build (what
# `sam build` makes). BENCH_ARGS passes options on, e.g. smaller counts:
#   make bench BENCH_ARGS="--cold-runs 3 --warm-requests 200 --load-seconds 5 --burst-rounds 2"
BENCH_PROFILE ?= release-fast
BENCH_ARGS ?=
bench:
	$(CARGO) build --profile $(BENCH_PROFILE) --bins $(BENCH_BINS) -p delius-bench
	scripts/with-postgres.sh $${CARGO_TARGET_DIR:-target}/$(BENCH_PROFILE)/delius-bench --bins $(BENCH_PROFILE) $(BENCH_ARGS)

# The same with tiny counts and debug binaries, so the benchmark cannot rot; fails on any error.
bench-smoke:
	$(CARGO) build --bins $(BENCH_BINS) -p delius-bench
	scripts/with-postgres.sh $${CARGO_TARGET_DIR:-target}/debug/delius-bench --smoke
	scripts/with-postgres.sh $${CARGO_TARGET_DIR:-target}/debug/delius-bench --smoke --only warm,alloc --prepared \
		--out $${CARGO_TARGET_DIR:-target}/bench/smoke-prepared.json
