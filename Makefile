# `make demo` runs the main job (the seed article's pod on the sim backend), `make test` the
# test suite; both install what they need first.
.PHONY: demo test build setup

setup:
	scripts/setup.sh

demo: setup
	swift build --product podsh
	.build/debug/podsh scripts/demo.lua

build: setup
	swift build

test:
	scripts/setup.sh --validator
	swift build --build-tests
	swift test
