# The two commands a newcomer types: `make run` and `make test`. See README.md.
SWIFT ?= swift
RELEASE_BIN = .build/release

.PHONY: deps build release run test bench-micro bench-cluster bench-sql bench-suite bench-scale bench-blobs soak-blobs soak-sql soak-sqllogictest soak-wire clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product meshdb

## Builds a release binary and runs `meshdb demo`: a 4-node cluster in one process, then its SQL shell (\q or Ctrl-D stops it).
run: release
	$(RELEASE_BIN)/meshdb demo $(DEMO_ARGS)

## Builds everything and runs the whole test suite.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

## MeshDB vs PostgreSQL 15 vs SQLite, every workload of `meshdb bench` (QUICK=1: under 5 minutes,
## no docs); writes docs/BENCHMARKS.md's side-by-side section and docs/bench/*.svg.
bench-suite: deps
	Benchmarks/run-suite $(if $(QUICK),--quick,)

## Scale on paper: `meshdb sim scale` for 4, 16 and 64 nodes as shard groups grow (simulated time,
## measured per-node costs); writes docs/bench/scale.svg and docs/BENCHMARKS.md's scale section.
bench-scale: deps
	Benchmarks/run-suite --scale

## Blobs: `meshdb blob put/get` of 256 MiB (random, compressible) vs one bytea row in PostgreSQL 15,
## MB/s both ways (QUICK=1: one round, no docs); writes docs/BENCHMARKS.md's "Blobs" section.
## PostgreSQL's client is psycopg 3's C implementation (psycopg[binary], installed when missing).
bench-blobs: deps
	@python3 -c 'import psycopg, psycopg_binary' 2>/dev/null || python3 -m pip install -q "psycopg[binary]" || python3 -m pip install -q --break-system-packages "psycopg[binary]"
	Benchmarks/run-suite --blobs $(if $(QUICK),--quick,)

## A 2 GiB file in and out through `meshdb blob` against a demo (release build): SHA-256 equal and
## each command's peak resident memory under 256 MiB (BYTES=n to vary the size).
soak-blobs: deps
	Benchmarks/run-suite --blob-soak $(if $(BYTES),--soak-bytes $(BYTES),)

## Storage micro-benchmarks (release build); prints the table kept in docs/BENCHMARKS.md.
bench-micro: deps
	$(SWIFT) build -c release --product meshdb-microbench
	$(RELEASE_BIN)/meshdb-microbench

## Cluster write benchmark: 4 in-process nodes vs raw SQLite (release build).
bench-cluster: deps
	$(SWIFT) build -c release --product meshdb-cluster-bench
	$(RELEASE_BIN)/meshdb-cluster-bench

## SQL parse + plan and scatter-gather aggregates, beside SQLite (release build).
bench-sql: deps
	$(SWIFT) build -c release --product meshdb-sql-bench
	$(RELEASE_BIN)/meshdb-sql-bench

## The SQL parser's soak: 1,000,000 seeded mutations of the sqllogictest corpus (SEED=n to vary).
soak-sql:
	$(SWIFT) build -c release --product meshdb-sql-fuzz
	$(RELEASE_BIN)/meshdb-sql-fuzz --inputs 1000000 --seed $(or $(SEED),1)

## SQL conformance soak: sqllogictest select1-5 and evidence/ on a 4-node in-process cluster, then
## the differential test (SEEDS=..., QUERIES=n per seed) against one SQLite database.
soak-sqllogictest:
	$(SWIFT) build -c release --product meshdb-sqllogictest
	$(RELEASE_BIN)/meshdb-sqllogictest run --engine meshdb --skip-list Tests/Corpus/sqllogictest/meshdb.skip Tests/Corpus/sqllogictest
	for seed in $(or $(SEEDS),1 2 3 4 5 6 7 8); do \
	  $(RELEASE_BIN)/meshdb-sqllogictest differential --engine meshdb --queries $(or $(QUERIES),5000) --seed $$seed || exit 1; \
	done

## The PostgreSQL protocol fuzz soak: 1,000,000 seeded random and mutated frontend messages into
## the session state machine (MESHWIRE_FUZZ_SEED=n to vary).
soak-wire:
	$(SWIFT) build --build-tests
	MESHWIRE_FUZZ_ITERATIONS=$(or $(ITERATIONS),1000000) $(SWIFT) test --skip-build --filter ProtocolFuzzTests

clean:
	$(SWIFT) package clean
