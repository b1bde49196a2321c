# `make demo` runs the main job (the seed article's pod on the sim backend), `make test` the
# test suite; both install what they need first.
.PHONY: demo demo-linux test build setup format fuzz fuzz-build kill-rounds image-kill-rounds pull-kill-rounds seed-linux

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

# Fuzzing (libFuzzer, with AddressSanitizer): each target SECONDS seconds (default 60, as CI).
FUZZ_TARGETS = manifest quantity flat-spec sim-shell image-json layer-archive
SECONDS ?= 60
# The package's executable has its own entry point (SwiftPM's), so the fuzzer instrumentation
# is asked of the frontend only and libFuzzer is linked without its main (pod-fuzz calls
# LLVMFuzzerRunDriver): -sanitize=fuzzer at the driver would link a second main.
FUZZER_RUNTIME = $(shell dirname $$(dirname $$(readlink -f $$(command -v swift))))/lib/swift/clang/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a
fuzz-build: setup
	swift build --scratch-path .build-fuzz --product pod-fuzz -Xswiftc -DFUZZING -Xswiftc -parse-as-library \
	  -Xswiftc -sanitize=address -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer,address \
	  -Xlinker $(FUZZER_RUNTIME) -Xlinker -lstdc++

fuzz: fuzz-build
	scripts/fuzz.sh $(SECONDS) $(FUZZ_TARGETS)

# The owner SIGKILLed at random points of ROUNDS pod lifecycles on linux (CI runs 100), then gc
# must leave no process, cgroup, mount or state entry.
ROUNDS ?= 500
kill-rounds: setup
	swift build --build-tests
	POD_KILL_ROUNDS=$(ROUNDS) swift test --filter aHundredLifecyclesCutShortThenGcLeaveNothing

# `podsh image load` and `import` SIGKILLed at random points ROUNDS times, each followed by
# `image prune`: no staging, no half-made layer, no corrupt blob; nothing once all is removed.
image-kill-rounds: setup
	swift build --product podsh
	scripts/image-kill-rounds.sh .build/debug/podsh $(ROUNDS)

pull-kill-rounds: setup
	swift build --product podsh
	scripts/pull-kill-rounds.sh .build/debug/podsh $(ROUNDS)

# The seed's pod on images built from Debian packages, pushed to a local registry and pulled
# (root, network access to the Debian mirror): scripts/seed-linux.sh.
seed-linux: setup
	swift build --product podsh
	scripts/seed-linux.sh .build/debug/podsh

# The default seccomp profile's cost against Unconfined, in one run (root, python3):
# scripts/bench-seccomp.lua.
SECCOMP_ROUNDS ?= 15
bench-seccomp: setup
	swift build -c release --product podsh --scratch-path .build-perf
	root=$$(mktemp -d) && .build-perf/release/podsh --backend linux --unsafe --seccomp-profile-root $$root \
	  scripts/bench-seccomp.lua $(SECCOMP_ROUNDS) $$root; status=$$?; rm -rf $$root; exit $$status
