# The two set-up commands of the README:
#   make run    install what is missing, build, initialize the node home and run the node
#   make test   install what is missing, build, and run the whole test suite through ctest
BUILD ?= build
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)

.PHONY: run test deps build fuzz-build fuzz-smoke bench clean

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The libFuzzer build (clang-16 + libc++ + ASan/UBSan); `make test` runs each target briefly.
fuzz-build: deps
	@CC=clang-16 CXX=clang++-16 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DAETHER_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

run: build
	@$(BUILD)/src/cli/aether up

test: build fuzz-build
	@cmake -S . -B $(BUILD) -DAETHER_FUZZ_BUILD_DIR=$(abspath $(FUZZ_BUILD)) >/dev/null
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# libFuzzer targets (clang-16 + libc++), each run for AETHER_FUZZ_SECONDS (default 60).
fuzz-smoke: fuzz-build
	@cmake --build $(FUZZ_BUILD) --target fuzz-smoke

bench: build
	@scripts/bench $(BUILD)
	@bench/net_perf.sh $(abspath $(BUILD))
	@bench/net_gossip.sh $(abspath $(BUILD))

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
