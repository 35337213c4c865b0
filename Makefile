# Rampart: `make run` starts the whole platform locally, `make test` runs the whole suite.
SHELL := /bin/bash
RUN_DIR := $(CURDIR)/.run
TEST_PG_PORT ?= 55432
# Suites that measure the gateway's time limits (seconds of a client's silence, a service's delay):
# on a machine busy with the rest of the suite their bounds would measure the load instead.
WALL_CLOCK_SUITES := GatewayEdgeLimitsTests|GatewayEdgeWriteLimitsTests|GatewaySignInLimitTests
RUN_PG_PORT ?= 55433

.PHONY: run stop clean test build deps bench bench-gateway bench-tickets

deps:
	@Deploy/local/install-deps.sh

build: deps
	swift build

## Start PostgreSQL, prepare regions, PKI and keys, build and start every service.
run: deps
	@Deploy/local/run.sh start

## Stop everything `make run` started.
stop:
	@Deploy/local/run.sh stop

## Benchmarks against the platform as a release build (results in docs/benchmarks.md).
bench: deps
	@Deploy/local/bench.sh

## The gateway against nginx and nginx + ModSecurity/CRS with wrk on loopback (results in docs/benchmarks.md).
bench-gateway: deps
	@Deploy/local/bench-gateway.sh

## The helpdesk API at 10k and 1M tickets across 1,000 tenants, direct and through the gateway (results in docs/benchmarks.md).
bench-tickets: deps
	@Deploy/local/bench-tickets.sh

## Remove all local state (databases, certificates, keys, logs).
clean: stop
	@Deploy/local/postgres.sh stop $(RUN_DIR)/test-pg || true
	rm -rf $(RUN_DIR)

## The deployment checks (Deploy/check) and the whole suite against a real PostgreSQL of its own (port $(TEST_PG_PORT)).
test: deps
	@# A fresh test cluster each run: suites create a database each and never reuse one.
	@Deploy/local/postgres.sh stop $(RUN_DIR)/test-pg >/dev/null 2>&1 || true
	@rm -rf "$$(Deploy/local/postgres.sh location $(RUN_DIR)/test-pg 2>/dev/null)" $(RUN_DIR)/test-pg
	@Deploy/local/postgres.sh start $(RUN_DIR)/test-pg $(TEST_PG_PORT) $(RUN_DIR)/test-secrets
	swift build --build-tests
	@# Deployment artefacts first, alone: the validators are CPU-heavy and the suite has timing tests.
	Deploy/check/validate-deployment.sh "$$(swift build --show-bin-path)" $(RUN_DIR)/deploy-check
	RAMPART_TEST_SUPERUSER_URL="$$(cat $(RUN_DIR)/test-secrets/pg-superuser.url)" \
	RAMPART_BIN_DIR="$$(swift build --show-bin-path)" \
	Deploy/local/test-watchdog.sh swift test --skip-build --skip '$(WALL_CLOCK_SUITES)'
	@# The edge's time limits are measured in wall-clock seconds: those suites run alone, after the rest.
	RAMPART_TEST_SUPERUSER_URL="$$(cat $(RUN_DIR)/test-secrets/pg-superuser.url)" \
	RAMPART_BIN_DIR="$$(swift build --show-bin-path)" \
	Deploy/local/test-watchdog.sh swift test --skip-build --filter '$(WALL_CLOCK_SUITES)'
