# Top-level entry points. Each one installs what is missing first, so that on
# a fresh Debian 12 machine `make demo` and `make test` are all it takes.
#
#   make deps    install the missing Debian packages (tools/install-deps.sh)
#   make build   configure (once) and build everything in $(BUILDDIR)
#   make test    deps + build + the whole test suite
#   make demo    deps + build + the main job (tools/demo.sh)
#   make bench   deps + bench deps + build + bench/run.sh --quick (MODE=full: the
#                full run); writes docs/performance.md and docs/perf/*.png
#   make install build + meson install: tools in sbindir and bindir, the
#                libraries, headers, umfs.pc and man pages under PREFIX
#                (default /usr/local; DESTDIR=... stages it)
#   make uninstall  remove what the last `make install` from $(BUILDDIR)
#                installed (its log, $(BUILDDIR)/meson-logs/install-log.txt)
#   make deb     the Debian packages (umfs-tools, libumfs0, libumfs-dev,
#                umfs-dkms) in $(BUILDDIR)/deb/, checked by lintian; then
#                README's `sudo apt install` line
#   make clean   remove $(BUILDDIR)

BUILDDIR ?= build
MESON ?= meson
NINJA ?= ninja
MODE ?= quick
PREFIX ?= /usr/local

# Pools on /dev/shm are DRAM standing in for persistent memory: make libpmem
# use cache-line flushes instead of msync for them.
export PMEM_IS_PMEM_FORCE = 1

.PHONY: all deps build test demo bench install uninstall deb clean

all: build

deps:
	sh tools/install-deps.sh

build:
	@if [ ! -f $(BUILDDIR)/build.ninja ]; then \
		if [ -d $(BUILDDIR)/meson-private ]; then \
			$(MESON) setup --wipe --prefix $(PREFIX) $(BUILDDIR); \
		else \
			$(MESON) setup --prefix $(PREFIX) $(BUILDDIR); \
		fi; \
	elif [ "$$($(MESON) introspect --buildoptions $(BUILDDIR) | python3 -c \
		'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')" \
		!= "$(PREFIX)" ]; then \
		$(MESON) configure --prefix $(PREFIX) $(BUILDDIR); \
	fi
	$(NINJA) -C $(BUILDDIR)

test: deps
	$(MAKE) build
	MESON=$(MESON) bash tools/test.sh $(BUILDDIR)

demo: deps
	$(MAKE) build
	BUILDDIR=$(BUILDDIR) bash tools/demo.sh

bench: deps
	sh bench/install-bench-deps.sh
	$(MAKE) build
	bash bench/run.sh --$(MODE) --build $(BUILDDIR)

install: build
	$(MESON) install -C $(BUILDDIR) --no-rebuild $(if $(DESTDIR),--destdir $(DESTDIR))
	@# the dynamic loader's cache must know the new libumfs-api.so.0
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then ldconfig; fi

uninstall:
	@[ -f $(BUILDDIR)/meson-logs/install-log.txt ] || \
		{ echo "make uninstall: $(BUILDDIR) has installed nothing (no meson-logs/install-log.txt)" >&2; exit 1; }
	$(NINJA) -C $(BUILDDIR) uninstall
	@if [ "$$(id -u)" -eq 0 ]; then ldconfig; fi

# dpkg-buildpackage writes its results beside the source tree: build from a
# copy in $(BUILDDIR)/deb/ so that they stay there.
deb: deps
	tools/make-deb.sh $(BUILDDIR)/deb

clean:
	rm -rf $(BUILDDIR)
