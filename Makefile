# `make demo` runs the main job, `make test` the test suite; both install what they need first.
.PHONY: demo test build setup

setup:
	scripts/setup.sh

demo: setup
	swift run podsh --version

build: setup
	swift build

test:
	scripts/setup.sh --validator
	swift build --build-tests
	swift test
