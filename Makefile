# bunker: `make` builds dist/bunker (one executable, the C shim embedded).
BUN      ?= node_modules/bun/bin/bun.exe
CC       ?= gcc
CFLAGS   ?= -O2
CFLAGS   += -Ibuild -fPIC -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fno-strict-aliasing
LDFLAGS  += -shared -Wl,-z,relro,-z,now,-z,noexecstack
SRC      := $(shell find src -name '*.ts' 2>/dev/null)

.PHONY: all child-objects setup test test-unit test-integration test-vm stress bench demo clean fuzz

all: dist/bunker

$(BUN):
	npm install --no-audit --no-fund
	@[ -x $(BUN) ] || node node_modules/bun/install.js

# the wire contract's C side, generated from the op table (not committed: one source)
build/ops.h: src/plan/ops.ts src/plan/gen-header.ts src/plan/types.ts | $(BUN)
	@mkdir -p build
	$(BUN) src/plan/gen-header.ts > $@.tmp && mv $@.tmp $@

# the shim, one file per concern (README's Layout); CHILD_C is what runs in the container's child
# between clone and execve: tests/unit/shim-objects.test.ts checks its objects import no allocator or stdio
CHILD_C  := c/child.c c/wire.c c/mounts.c c/namespaces.c c/process.c c/exec.c c/terminal.c c/init.c c/pid1.c c/hooks.c c/tree.c c/store.c c/archive.c
SHIM_C   := $(CHILD_C) c/host.c c/supervise.c c/logwriter.c c/keeper.c
SHIM_H   := c/shim.h c/child.h c/wire.h c/tree.h build/ops.h
CHILD_O  := $(CHILD_C:c/%.c=build/obj/%.o)

build/obj/%.o: c/%.c $(SHIM_H)
	@mkdir -p build/obj
	$(CC) $(CFLAGS) -c -o $@ $<

build/libbunker.so: $(SHIM_C:c/%.c=build/obj/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# the child's objects, for the import check
child-objects: $(CHILD_O)

# the decoder printing what it reads, for tests/unit/wire.test.ts (TS encodes, C decodes)
build/wire-decode: tests/wire/decode.c c/wire.c c/wire.h build/ops.h
	@mkdir -p build
	$(CC) $(filter-out -fPIC,$(CFLAGS)) -Ic -o $@ tests/wire/decode.c c/wire.c

# the monitor that replaces bunker while a foreground container runs and is an
# init's PID 1 (c/monitor.c): static (no loader or libc to find inside a
# container), exec'd from a sealed memfd.  Linked with musl it is ~70 KB
# instead of glibc's ~800 KB, which matters: it is read out of dist/bunker on
# every run.  musl-gcc's specs cannot make a static PIE, so it is linked by
# hand with musl's rcrt1.o (self-relocating: ASLR for the monitor too).
MUSL_CC  := $(shell command -v musl-gcc 2>/dev/null)
MUSL_LIB := $(shell [ -n "$(MUSL_CC)" ] && sed -n 's|.*-specs "\(.*\)/musl-gcc.specs".*|\1|p' $(MUSL_CC))
MONITOR_LDFLAGS := -static-pie -Wl,-z,relro,-z,now,-z,noexecstack,--gc-sections -s
MONITOR_C := c/monitor.c c/supervise.c c/logwriter.c c/keeper.c c/proxy.c c/exec.c c/pid1.c c/tree.c
build/bunker-monitor: $(MONITOR_C) c/shim.h c/tree.h build/ops.h
	@mkdir -p build/musl
ifneq ($(MUSL_LIB),)
	for f in $(MONITOR_C); do $(MUSL_CC) $(CFLAGS) -fPIE -ffunction-sections -c -o build/musl/$$(basename $$f .c).o $$f || exit 1; done
	$(CC) -nostdlib $(MONITOR_LDFLAGS) -o $@ $(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o $$($(CC) -print-file-name=crtbeginS.o) \
	  $(MONITOR_C:c/%.c=build/musl/%.o) -L$(MUSL_LIB) -lc $$($(CC) -print-libgcc-file-name) $$($(CC) -print-file-name=crtendS.o) $(MUSL_LIB)/crtn.o
else
	@echo "note: musl-gcc not found (apt-get install musl-tools): the monitor is linked with glibc, ~800 KB"
	$(CC) $(CFLAGS) $(MONITOR_LDFLAGS) -o $@ $(MONITOR_C)
endif

# the second entry point is the layer decompression thread (src/image/inflate.ts).
# No autoloading at run time: by default a compiled Bun program reads .env and
# bunfig.toml from its working directory (a bunfig.toml's preload runs code in
# bunker, as root too) and scans the directories to find them (~1 ms per start).
# The JIT starts reluctant (tier-up thresholds x16): start-up code runs once and
# compiling it cost more than it saved; long work calls normalJit() (src/jit.ts)
BUN_FLAGS := --compile --splitting --format=esm --bytecode --minify --sourcemap=none \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig --no-compile-autoload-tsconfig --no-compile-autoload-package-json \
  --compile-jit-policy=16
dist/bunker: build/libbunker.so build/bunker-monitor $(SRC) package.json Makefile | $(BUN)
	@mkdir -p dist
	$(BUN) build $(BUN_FLAGS) src/main.ts src/image/inflate-worker.ts --outfile $@

# README's first command: install what is missing, build, run a sandbox of the host.
demo:
	@command -v gcc >/dev/null || { echo "installing gcc"; apt-get install -y gcc make libc6-dev >/dev/null; }
	@command -v musl-gcc >/dev/null || [ "$$(id -u)" != 0 ] || { echo "installing musl-tools (the small monitor)"; apt-get install -y musl-tools >/dev/null; }
	$(MAKE) all
	./dist/bunker run --rootfs host --hostname demo -- /bin/sh -c 'echo "hello from $$(hostname): pid $$$$, uid $$(id -u), $$(ls /sys/class/net | tr "\n" " ")"; cat /proc/self/uid_map'

# installs what a fresh machine lacks (as root), then every suite: unit, integration, cgroup VM
setup:
	bash tests/setup.sh

test: setup
	$(MAKE) all build/wire-decode child-objects
	bash tests/run-all.sh

# the unit suite; as root a second time as the test user (bunkertest) when it exists: unit tests must not depend on who runs them
test-unit: build/libbunker.so build/bunker-monitor build/wire-decode child-objects | $(BUN)
	BUN=$(BUN) bash tests/run-all.sh unit-only

# property-based fuzzing of every parser of untrusted input (tests/fuzz): FUZZ_SECONDS in all (default 60);
# FUZZ_SEED and FUZZ_TARGET repeat a failure
fuzz: build/libbunker.so build/bunker-monitor | $(BUN)
	$(BUN) tests/fuzz/run.ts

test-integration: all
	bash tests/run-all.sh integration

test-vm: all
	bash tests/vm/run.sh

# the kill loop of tests/integration/kill-safe.test.ts with STRESS_COUNT SIGKILLs (default 1000)
# of each of run, run -d and create, as root and as the test user; STRESS_SEED repeats a run
STRESS_COUNT ?= 1000
stress: all
	BUNKER_KILL_LOOP=$(STRESS_COUNT) $(if $(STRESS_SEED),BUNKER_KILL_SEED=$(STRESS_SEED)) \
	  $(BUN) test --timeout 600000 tests/integration/kill-safe.test.ts -t 'start-up'

# the start-up timer of make bench (posix_spawn + wait4, interleaved; tests/bench/spawnbench.c)
build/spawnbench: tests/bench/spawnbench.c
	@mkdir -p build
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lm

# side-by-side ratios (not a test); BENCH_VM=1 adds cgroup set-up cost measured in the VM
bench: all build/spawnbench
	BUN_FLAGS="$(BUN_FLAGS)" bash tests/bench/run.sh
	@[ "$${BENCH_VM:-0}" = 0 ] || bash tests/vm/run.sh --bench

clean:
	rm -rf build dist
