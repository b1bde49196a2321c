# `make demo` runs the main job (the seed article's pod on the sim backend), `make test` the
# test suite; both install what they need first.
.PHONY: demo demo-linux test build setup format

setup:
	scripts/setup.sh

demo: setup
	swift build --product podsh
	.build/debug/podsh scripts/demo.lua

# The seed pod for real on this kernel (root): imports busybox, runs the linux demo.
demo-linux: setup
	swift build --product podsh
	scripts/busybox-image.sh
	.build/debug/podsh --backend linux scripts/demo-linux.lua

build: setup
	swift build

# The walls first (seconds, no build): the dependency graph has the architecture's shape.
test:
	scripts/setup.sh --validator
	scripts/check-walls.py
	scripts/check-walls.py --self-test
	scripts/check-docs.sh
	swift build --build-tests
	swift test

# Lays out every Swift file as .swift-format says.
format:
	swift-format format --in-place --recursive --parallel Sources Tests Benchmarks Package.swift
