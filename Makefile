# Suifang: the README's commands. Each installs missing system packages first.
.PHONY: deps build demo test testnets bench fuzz format

deps:
	@scripts/install-deps.sh

build: deps
	swift build

## The main job: a local demo.
demo: build
	.build/debug/suifang demo

## All tests: unit and property tests, then every testnet (real processes on loopback with faults).
test:
	@scripts/test.sh

## Multi-node testnets; each exits non-zero unless every replica converged with no acknowledged write missing.
testnets: build
	@for net in testnets/*.json; do .build/debug/suifang testnet run "$$net" || exit 1; done

## Benchmarks (release build), one JSON line per metric.
bench: deps
	swift run -c release suifang bench replica
	swift run -c release suifang bench sync
	swift run -c release suifang bench domain

## Coverage-guided fuzzing (libFuzzer, release): every target for ten million inputs (docs/THREAT-MODEL.md).
fuzz: deps
	scripts/fuzz.sh all -runs=10000000

## Formats the code as .swift-format says (make test checks it).
format:
	swift format -i -r Sources Tests
