# Suifang: the README's commands. Each installs missing system packages first.
.PHONY: deps build demo test bench

deps:
	@scripts/install-deps.sh

build: deps
	swift build

## The main job: a local demo.
demo: build
	.build/debug/suifang demo

## All tests.
test: deps
	swift build --build-tests
	swift test

## Benchmarks (release build), one JSON line per metric.
bench: deps
	swift run -c release suifang bench replica
