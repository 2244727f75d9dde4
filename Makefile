# The two commands: `make run` (a demo shop on this machine) and `make test` (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

RUN_PRESET  ?= release
TEST_PRESET ?= release
SEED_ARGS   ?= --products 2000 --users 200 --orders 5000 --seed 42
FUZZ_SECONDS ?= 30

# ccache: share hits between build directories and across precompiled headers.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

# Sanitizer runtime options for `make test-asan` and `make test-long`, exported to ctest, so the test
# binaries and the `emporium` processes they start share them. Every report aborts the process
# (abort_on_error): a test fails, and an aborted `emporium` child fails the test that started it
# (tests/e2e/process.cpp). Suppressions, each with its reason: tests/sanitizers/.
SANITIZER_DIR := $(CURDIR)/tests/sanitizers
ASAN_RUN_OPTIONS := detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1
UBSAN_RUN_OPTIONS := print_stacktrace=1:halt_on_error=1:abort_on_error=1
LSAN_RUN_OPTIONS := suppressions=$(SANITIZER_DIR)/lsan.supp:print_suppressions=0
TSAN_RUN_OPTIONS := halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$(SANITIZER_DIR)/tsan.supp

# `make run CLUSTER=1`: the shop on the cluster profile of scripts/services.sh (Redis Cluster,
# Redlock masters, PostgreSQL with two replicas; docs/operations.md) instead of the dev one.
CLUSTER ?=
SERVICES_PROFILE := $(if $(filter 1 yes true,$(CLUSTER)),cluster,dev)

# The tests labelled `cluster` run against the cluster profile. Inside a test recipe's shell line,
# after the test environment: $(call cluster_up,BUILD_DIR) starts it and exports its EMPORIUM_CLUSTER_*
# variables (only those: the app's REDIS_URL, DATABASE_REPLICA_URLS… would reach every server the
# tests start, which inherit the environment) when BUILD_DIR has such tests (if it cannot start, only they fail, on the
# missing variables); $(cluster_down) stops it afterwards if this run started it (a `make run
# CLUSTER=1` shop keeps its servers) and KEEP_SERVICES is unset.
cluster_up = cluster_started=; \
  if ctest --test-dir $(1) -N -L '^cluster$$' | grep -q 'Total Tests: [1-9]'; then \
    bash scripts/services.sh status cluster >/dev/null || cluster_started=1; \
    t0=$$SECONDS; \
    if bash scripts/services.sh start cluster; then \
      echo "cluster services up in $$((SECONDS - t0)) s"; eval "$$(bash scripts/services.sh env cluster | grep '^export EMPORIUM_CLUSTER_')"; \
    fi; \
  fi;
cluster_down = [ -z "$$cluster_started" ] || [ -n "$$KEEP_SERVICES" ] || bash scripts/services.sh stop cluster;

# Builds a preset; when the build fails, builds it once more one job at a time. A compiler killed
# from outside (memory pressure on a shared machine) fails a step without a message, and the
# second run resumes where the first stopped; a real error fails the same way again.
build_preset = cmake --build --preset $(1) || { echo "build of $(1) failed; once more, one job at a time" >&2; \
  cmake --build --preset $(1) -j1; }

.PHONY: help deps build build-test run stop test test-unit test-asan test-long test-containers services-test bench fuzz lint clean format

help:
	@echo "make run    install what is missing, build, start PostgreSQL + Redis, migrate, seed, serve"
	@echo "            (CLUSTER=1: on a local Redis Cluster and a PostgreSQL primary with two replicas)"
	@echo "make test   same set-up, then the whole test suite (ctest)"
	@echo "make stop   stop everything 'make run' started"
	@echo "make bench  every benchmark scenario (about 20 min), one report in docs/benchmarks.md"
	@echo "make fuzz   build the libFuzzer targets (clang-14) and run each for FUZZ_SECONDS (30)"
	@echo "make test-asan  the suite (but the tests labelled heavy) built with AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "make test-long  the concurrency tests under ThreadSanitizer, then the tests labelled 'long'"
	@echo "make test-containers  deploy/ built and run with podman (local images), a shopping flow through nginx"
	@echo "make lint  clang-tidy (.clang-tidy) on every source file of src/ (about an hour on 2 cores)"

deps:
	@bash scripts/deps.sh

build: deps
	@cmake --preset $(RUN_PRESET) >/dev/null
	@cmake --build --preset $(RUN_PRESET) --target emporium

build-test: deps
	@cmake --preset $(TEST_PRESET) >/dev/null
	@$(call build_preset,$(TEST_PRESET))

run: build
	@SERVICES_PROFILE=$(SERVICES_PROFILE) bash scripts/run.sh build/$(RUN_PRESET) $(SEED_ARGS)

stop:
	@bash scripts/run.sh --stop

# The suite, then every fuzz target for TEST_FUZZ_SECONDS (bounded; `make fuzz` for longer runs).
TEST_FUZZ_SECONDS ?= 30
test: build-test
	@bash scripts/services.sh start test
	@eval "$$(bash scripts/services.sh env test)"; $(call cluster_up,build/$(TEST_PRESET)) \
	  ctest --test-dir build/$(TEST_PRESET) -j2 --timeout 600 --output-on-failure; rc=$$?; \
	  [ -n "$$KEEP_SERVICES" ] || bash scripts/services.sh stop test; $(cluster_down) exit $$rc
	@FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) bash scripts/fuzz.sh

# The suite in the asan preset (-O0, address + undefined sanitizers, shared libraries), same services as
# `make test` (the cluster ones too when the build has tests labelled `cluster`), but for the tests
# labelled `heavy` (cmake/testing.cmake: long runs whose paths lighter tests cover, the TypeScript
# checks and the browser, which `make test` runs).
test-asan: export ASAN_OPTIONS := $(ASAN_RUN_OPTIONS)
test-asan: export UBSAN_OPTIONS := $(UBSAN_RUN_OPTIONS)
test-asan: export LSAN_OPTIONS := $(LSAN_RUN_OPTIONS)
test-asan: deps
	@cmake --preset asan >/dev/null
	@$(call build_preset,asan)
	@bash scripts/services.sh start test
	@eval "$$(bash scripts/services.sh env test)"; $(call cluster_up,build/asan) \
	  ctest --test-dir build/asan -j2 --timeout 900 -LE heavy --output-on-failure; rc=$$?; \
	  [ -n "$$KEEP_SERVICES" ] || bash scripts/services.sh stop test; $(cluster_down) exit $$rc

# Long runs: the `concurrency`-labelled tests built with ThreadSanitizer (tsan preset), then every
# test labelled `long` in the release build (having none is fine).
test-long: export TSAN_OPTIONS := $(TSAN_RUN_OPTIONS)
test-long: build-test
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan
	@bash scripts/services.sh start test
	@eval "$$(bash scripts/services.sh env test)"; \
	  ctest --test-dir build/tsan -L concurrency --timeout 1800 --output-on-failure; rc=$$?; \
	  ctest --test-dir build/$(TEST_PRESET) -L long -j2 --timeout 3600 --output-on-failure --no-tests=ignore \
	    || rc=1; \
	  [ -n "$$KEEP_SERVICES" ] || bash scripts/services.sh stop test; exit $$rc

# deploy/Dockerfile and deploy/docker-compose.yml for real: images built with podman from a local
# Debian base (no registry), the stack up, a shopping flow through nginx, the stack down
# (scripts/containers.sh; docs/operations.md, "Containers"). Not part of `make test`: the image
# build compiles Emporium once more.
test-containers:
	@bash scripts/containers.sh

# Every benchmark scenario against the bench stack; one report, also written to docs/benchmarks.md.
bench: build-test
	@bash bench/all.sh build/$(TEST_PRESET)

# libFuzzer targets of tests/fuzz (preset `fuzz`), each run FUZZ_SECONDS, two at a time, from a
# copy of its seed corpus; fails on any crash, sanitizer report, hang or memory blow-up.
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# Fast loop: unit tests only, no services.
test-unit: build-test
	@ctest --test-dir build/$(TEST_PRESET) -L unit -j2 --output-on-failure

# clang-tidy over src/ with the rules of .clang-tidy (warnings are errors). Only configures the
# `lint` preset (clang-14, no precompiled header, which clang-tidy cannot read from GCC) for its
# compile commands; nothing is built. LINT_FILES narrows it (a regular expression of paths).
LINT_FILES ?= src/
lint: deps
	@cmake --preset lint -DEMPORIUM_BUILD_TESTS=OFF -DEMPORIUM_BUILD_BENCH=OFF >/dev/null
	@run-clang-tidy-14 -p build/lint -quiet -j $$(nproc) '$(LINT_FILES)'

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf build
