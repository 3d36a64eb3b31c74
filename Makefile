# bunker: `make` builds dist/bunker (one executable, the C shim embedded).
BUN      ?= node_modules/bun/bin/bun.exe
CC       ?= gcc
CFLAGS   ?= -O2
CFLAGS   += -fPIC -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fno-strict-aliasing
LDFLAGS  += -shared -Wl,-z,relro,-z,now,-z,noexecstack
SRC      := $(shell find src -name '*.ts' 2>/dev/null)

.PHONY: all setup test test-unit test-integration test-vm bench demo clean

all: dist/bunker

$(BUN):
	npm install --no-audit --no-fund
	@[ -x $(BUN) ] || node node_modules/bun/install.js

build/libbunker.so: c/shim.c c/shim.h
	@mkdir -p build
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ c/shim.c

# the second entry point is the layer decompression thread (src/image/inflate.ts)
dist/bunker: build/libbunker.so $(SRC) package.json | $(BUN)
	@mkdir -p dist
	$(BUN) build --compile --bytecode --minify --sourcemap=none src/main.ts src/image/inflate-worker.ts --outfile $@

# README's first command: install what is missing, build, run a sandbox of the host.
demo:
	@command -v gcc >/dev/null || { echo "installing gcc"; apt-get install -y gcc make >/dev/null; }
	$(MAKE) all
	./dist/bunker run --rootfs host --hostname demo -- /bin/sh -c 'echo "hello from $$(hostname): pid $$$$, uid $$(id -u), $$(ls /sys/class/net | tr "\n" " ")"; cat /proc/self/uid_map'

# installs what a fresh machine lacks (as root), then every suite: unit, integration, cgroup VM
setup:
	bash tests/setup.sh

test: setup
	$(MAKE) all
	bash tests/run-all.sh

test-unit: | $(BUN)
	$(BUN) test tests/unit

test-integration: all
	bash tests/run-all.sh integration

test-vm: all
	bash tests/vm/run.sh

# side-by-side ratios (not a test); BENCH_VM=1 adds cgroup set-up cost measured in the VM
bench: all
	bash tests/bench/run.sh
	@[ "$${BENCH_VM:-0}" = 0 ] || bash tests/vm/run.sh --bench

clean:
	rm -rf build dist
