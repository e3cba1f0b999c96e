# vsrun build. `make` builds ./vsrun; `make test` runs the whole suite on the normal
# build and again on an ASan+UBSan build; see README.md for the other targets.

PREFIX   ?= /usr/local
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR   := /usr/lib/$(MULTIARCH)
PKGS     := libcurl openssl libmicrohttpd sqlite3 libpq

CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CPPFLAGS := -D_GNU_SOURCE -Ihost -Ibuild/gen -I/usr/include/lua5.4 $(shell pkg-config --cflags $(PKGS))
# Lua and lua-cjson are linked statically so the binary needs no Lua installed.
LUA_A    := $(LIBDIR)/liblua5.4.a $(LIBDIR)/liblua5.4-cjson.a
LDLIBS   := $(LUA_A) $(shell pkg-config --libs $(PKGS)) -lm -ldl -lpthread

HOST_SRC := $(wildcard host/*.c)
LUA_SRC  := $(shell find lua -name '*.lua' -not -path 'lua/types/*' | sort)
UNIT_SRC := $(wildcard tests/unit/*_test.c)

SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all asan test test-build fuzz-build check bench demo install clean memcheck fuzz deps
all: vsrun

# Installs missing Debian packages (as root) or prints the apt-get command; checked once.
deps: build/.deps-ok
build/.deps-ok: vendor/packages.txt vendor/install
	@vendor/install
	@mkdir -p build && touch $@

build/gen/embedded.c: $(LUA_SRC) build/embed_lua
	@mkdir -p build/gen
	build/embed_lua $(LUA_SRC) > $@.tmp && mv $@.tmp $@

build/embed_lua: host/tools/embed_lua.c
	@mkdir -p build
	$(CC) -O2 -Wall -Wextra -Werror -I/usr/include/lua5.4 -o $@ $< $(LIBDIR)/liblua5.4.a -lm -ldl

build/rel/%.o: host/%.c $(wildcard host/*.h) | build/gen/embedded.c
	@mkdir -p build/rel
	@echo "  CC      $<"; $(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

build/asan/%.o: host/%.c $(wildcard host/*.h) | build/gen/embedded.c
	@mkdir -p build/asan
	@echo "  CC asan $<"; $(CC) $(CPPFLAGS) -O1 -g $(SAN) $(WARN) -c -o $@ $<

build/rel/embedded.o: build/gen/embedded.c
	$(CC) $(CPPFLAGS) -O2 -c -o $@ $<
build/asan/embedded.o: build/gen/embedded.c
	$(CC) $(CPPFLAGS) -O1 -c -o $@ $<

REL_OBJ  := $(HOST_SRC:host/%.c=build/rel/%.o) build/rel/embedded.o
ASAN_OBJ := $(HOST_SRC:host/%.c=build/asan/%.o) build/asan/embedded.o

vsrun: $(REL_OBJ)
	@echo "  LD      $@"; $(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/asan/vsrun: $(ASAN_OBJ)
	@echo "  LD asan $@"; $(CC) $(SAN) -o $@ $^ $(LDLIBS)

asan: build/asan/vsrun

# C unit tests link every host object except main.o.
build/rel/unit/%: tests/unit/%.c $(filter-out build/rel/main.o,$(REL_OBJ)) tests/unit/check.h
	@mkdir -p build/rel/unit
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) -o $@ $< $(filter-out build/rel/main.o,$(REL_OBJ)) $(LDLIBS)
build/asan/unit/%: tests/unit/%.c $(filter-out build/asan/main.o,$(ASAN_OBJ)) tests/unit/check.h
	@mkdir -p build/asan/unit
	$(CC) $(CPPFLAGS) -Itests/unit -O1 -g $(SAN) $(WARN) -o $@ $< $(filter-out build/asan/main.o,$(ASAN_OBJ)) $(LDLIBS)

UNITS := $(UNIT_SRC:tests/unit/%.c=%)

test check: deps
	@$(MAKE) --no-print-directory test-build
	@tests/run

test-build: vsrun build/asan/vsrun $(UNITS:%=build/rel/unit/%) $(UNITS:%=build/asan/unit/%) fuzz-build

bench: deps
	@$(MAKE) --no-print-directory vsrun
	@tests/bench/run

demo: deps
	@$(MAKE) --no-print-directory vsrun
	./vsrun --sandbox --incidents 2000 scripts/examples/triage.lua ack_services=all

memcheck: vsrun
	@VSRUN_MEMCHECK=1 tests/run --memcheck

# libFuzzer targets: host objects rebuilt with clang's coverage instrumentation.
FUZZ_CC  := clang
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_OBJ := $(filter-out build/fuzz/main.o,$(HOST_SRC:host/%.c=build/fuzz/%.o)) build/fuzz/embedded.o

FUZZ_SECONDS ?= 60

build/fuzz/%.o: host/%.c $(wildcard host/*.h) | build/gen/embedded.c
	@mkdir -p build/fuzz
	@echo "  CC fuzz $<"; $(FUZZ_CC) $(CPPFLAGS) -O1 -g $(FUZZ_SAN) -std=c11 -w -c -o $@ $<
build/fuzz/embedded.o: build/gen/embedded.c
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) -O1 -c -o $@ $<
build/fuzz/%_fuzz: tests/fuzz/%_fuzz.c $(FUZZ_OBJ)
	@echo "  LD fuzz $@"; $(FUZZ_CC) $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)
# make fuzz FUZZ_SECONDS=600: each target for that long, corpus in tests/fuzz/corpus/NAME
fuzz: deps fuzz-build
	@for f in $(FUZZ_BIN); do n=$$(basename $$f _fuzz); mkdir -p build/fuzz/corpus-$$n; \
	  echo "== $$n"; $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 build/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

# The example library's modules go to PREFIX/share/vsrun/lib, which vsrun finds next to its
# own binary (scripts/incident-kit is also a LuaRocks rock: docs/libraries.md).
LIB_MODULES := $(wildcard scripts/incident-kit/src/*.lua)
install: vsrun
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/vsrun/lib
	install -m 0755 vsrun $(DESTDIR)$(PREFIX)/bin/vsrun
	install -m 0644 docs/vsrun.1 $(DESTDIR)$(PREFIX)/share/man/man1/vsrun.1
	install -m 0644 $(LIB_MODULES) $(DESTDIR)$(PREFIX)/share/vsrun/lib/

clean:
	rm -rf build vsrun
