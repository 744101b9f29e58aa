# medssl: the two commands of the README do everything on a fresh Debian 12 machine as root.
#   make demo   installs missing packages, builds, runs the embedded default study
#   make test   installs missing packages, builds, runs every test (CTest)
# Other targets: deps, build, test-sanitize, bench, clean.

BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
PACKAGES := $(shell grep -v '^\s*\#' deps/debian-packages.txt | grep -v '^\s*$$')

.PHONY: all deps build test demo test-sanitize bench clean

all: build

# Installs only what is missing: one `apt-get update`, then one `apt-get install -y` of the list in
# deps/debian-packages.txt. Does nothing (and needs no root) when everything is present.
deps:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "medssl: installing missing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	else echo "medssl: all Debian packages present"; fi

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 900 $(CTEST_FLAGS)

# The demo needs only the medssl binary: building it alone skips the test executables (about a third of the build).
demo: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS) --target medssl
	$(BUILD_DIR)/medssl demo --out demo-out

# Test suite and fuzz targets (including fuzz_weights_file, which needs LibTorch) built with AddressSanitizer +
# UndefinedBehaviorSanitizer (clang): a full second build, about an hour on 2 cores. Not part of `make test`.
# -O1 -g1: ASan's recommended optimisation level, with line tables for the reports' stack traces (faster to compile).
# halt_on_error: the first UBSan report fails the test that caused it (docs/reliability.md).
test-sanitize: deps
	CC=clang CXX=clang++ cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEDSSL_SANITIZE=ON \
	  -DMEDSSL_FUZZ=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
	  $(CMAKE_FLAGS)
	cmake --build build-sanitize -j$(JOBS)
	cd build-sanitize && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 3600 $(CTEST_FLAGS)

bench: build
	bench/compare.sh

clean:
	rm -rf $(BUILD_DIR) build-sanitize
