# The two commands a newcomer types: `make run` and `make test`. See README.md.
SWIFT ?= swift
RELEASE_BIN = .build/release

.PHONY: deps build release run test test-fast bench-micro clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product meshdb

## Builds a release binary and runs MeshDB.
run: release
	$(RELEASE_BIN)/meshdb --version
	$(RELEASE_BIN)/meshdb --help

## Builds everything and runs the whole test suite.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

## Storage micro-benchmarks (release build); prints the table kept in docs/BENCHMARKS.md.
bench-micro: deps
	$(SWIFT) build -c release --product meshdb-microbench
	$(RELEASE_BIN)/meshdb-microbench

clean:
	$(SWIFT) package clean
