# Thin wrapper over CMake: the two quick-start commands and an install target.
#   make demo    install what is missing, build, prepare the demo guest, run it
#   make check   install what is missing, build, build the guest media, run every test
#   make guest-media   only the test Linux, CD and disk images (images/cache)
BUILD  ?= build
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build check demo install clean guest-linux guest-media

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

guest-linux: deps
	@images/build-linux.sh

# The media the integration tests boot: each script is instant when its
# image is up to date (build-iso.sh and build-disk.sh build the Linux first).
guest-media: guest-linux
	@images/build-iso.sh
	@images/build-disk.sh

check: build guest-media
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The demo guest leaves through the test exit device (no firmware, so no
# ACPI power-off): "exit" in its shell ends lodge with status 33, which is
# the guest saying it finished, not a failure.
demo: build guest-linux
	@$(BUILD)/lodge run images/demo.lodge; s=$$?; [ $$s -eq 0 ] || [ $$s -eq 33 ]

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
