# proflab: `make run` serves the lab locally, `make test` runs every test.
# Both install the Debian packages they need first (as root; otherwise they print the line).
BUILD     ?= build
SAN_BUILD ?= build-san
JOBS      ?= $(shell nproc)
CMAKE_FLAGS ?=
MAKEFLAGS += --no-print-directory

.PHONY: all build run test test-release test-san deps test-deps clean

all: build

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory tests/consumers/node_modules/.package-lock.json

# test-only readers of proflab's outputs (DevTools' models, Speedscope, memlab), from npm
tests/consumers/node_modules/.package-lock.json: tests/consumers/package.json tests/consumers/package-lock.json
	@cd tests/consumers && npm ci --no-audit --no-fund --loglevel=error

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target proflab lab_module

run: build
	@scripts/run.sh $(BUILD)/proflab

test: test-deps
	@$(MAKE) --no-print-directory test-release test-san

test-release:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-san:
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPROFLAB_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SAN_BUILD) -j$(JOBS)
	@cd $(SAN_BUILD) && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
