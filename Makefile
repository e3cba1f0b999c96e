# vsrun build. `make` builds ./vsrun; `make test` runs the whole suite on the normal
# build and again on an ASan+UBSan build; see README.md for the other targets.

PREFIX   ?= /usr/local
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR   := /usr/lib/$(MULTIARCH)
PKGS     := libcurl openssl libmicrohttpd sqlite3 libpq

CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CPPFLAGS := -D_GNU_SOURCE -Ihost -Ibuild/gen -I/usr/include/lua5.4 $(shell pkg-config --cflags $(PKGS))
# Lua and lua-cjson are linked statically so the binary needs no Lua installed; all of Lua,
# since the network library calls any of its API through the executable.
LUA_A    := $(LIBDIR)/liblua5.4.a $(LIBDIR)/liblua5.4-cjson.a
NET_LIBS := $(shell pkg-config --libs $(PKGS)) -lm -lpthread
CORE_LIBS := -Wl,--whole-archive $(LIBDIR)/liblua5.4.a -Wl,--no-whole-archive $(LIBDIR)/liblua5.4-cjson.a -lm -ldl -lpthread
LDLIBS   := $(LUA_A) $(NET_LIBS) -ldl   # unit tests and fuzz targets: everything in one program

HOST_SRC := $(wildcard host/*.c)
# The split (docs/internals.md "Lazy start-up"): what needs libcurl, OpenSSL, libmicrohttpd,
# SQLite or libpq goes into the network library vsrun-net.so, opened on first use
# (host/netlib.c); everything else into the executable. A new file that needs those
# libraries belongs here (cmd_*.c, serve*.c and store*.c are in already); left out, the
# executable fails to link.
NET_SRC  := $(sort $(filter-out host/cmd_run.c host/cmd_help.c,$(wildcard host/cmd_*.c)) \
            $(wildcard host/serve*.c host/store*.c) \
            $(addprefix host/,connection.c digest.c http.c http_policy.c net_entry.c oauth.c \
                              oauth_callback.c pagerduty.c records.c runs.c sandbox.c secret_auth.c server.c vault.c \
                              vault_pg.c))
CORE_SRC := $(filter-out $(NET_SRC),$(HOST_SRC))
LUA_SRC  := $(shell find lua -name '*.lua' -not -path 'lua/types/*' | sort)
UNIT_SRC := $(wildcard tests/unit/*_test.c)

SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all asan test test-build fuzz-build check bench demo install clean memcheck fuzz deps
all: vsrun vsrun-net.so

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

# The stamp the executable and its network library must share (host/netlib.h): a hash of
# the sources, rewritten only when it changes.
build/gen/netlib_stamp.h: $(HOST_SRC) $(wildcard host/*.h) Makefile
	@mkdir -p build/gen
	@h=$$(cat $^ | sha256sum | cut -c1-16); echo "#define NETLIB_SOURCES_HASH \"$$h\"" >$@.tmp; \
	  if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# -fPIC everywhere: the network library's objects go into a shared object.
build/rel/%.o: host/%.c $(wildcard host/*.h) | build/gen/embedded.c build/gen/netlib_stamp.h
	@mkdir -p build/rel
	@echo "  CC      $<"; $(CC) $(CPPFLAGS) $(CFLAGS) -fPIC $(WARN) -c -o $@ $<

build/asan/%.o: host/%.c $(wildcard host/*.h) | build/gen/embedded.c build/gen/netlib_stamp.h
	@mkdir -p build/asan
	@echo "  CC asan $<"; $(CC) $(CPPFLAGS) -O1 -g -fPIC $(SAN) $(WARN) -c -o $@ $<

build/rel/embedded.o: build/gen/embedded.c
	$(CC) $(CPPFLAGS) -O2 -fPIC -c -o $@ $<
build/asan/embedded.o: build/gen/embedded.c
	$(CC) $(CPPFLAGS) -O1 -fPIC -c -o $@ $<

build/rel/netlib.o build/rel/net_entry.o build/asan/netlib.o build/asan/net_entry.o: build/gen/netlib_stamp.h

REL_CORE := $(CORE_SRC:host/%.c=build/rel/%.o) build/rel/embedded.o
REL_NET  := $(NET_SRC:host/%.c=build/rel/%.o)
ASAN_CORE := $(CORE_SRC:host/%.c=build/asan/%.o) build/asan/embedded.o
ASAN_NET := $(NET_SRC:host/%.c=build/asan/%.o)

# The executable exports exactly what the network library calls back (the Lua API, vm_*,
# util_*, ...): the undefined symbols of the library's objects, as a dynamic list.
DYNLIST = @{ echo '{'; nm -u $^ | awk 'NF == 2 { print "  " $$2 ";" }' | sort -u; echo '};'; } >$@
build/rel/vsrun.dynlist: $(REL_NET)
	$(DYNLIST)
build/asan/vsrun.dynlist: $(ASAN_NET)
	$(DYNLIST)

vsrun: $(REL_CORE) build/rel/vsrun.dynlist | vsrun-net.so
	@echo "  LD      $@"; $(CC) $(CFLAGS) -Wl,--dynamic-list=build/rel/vsrun.dynlist -o $@ $(REL_CORE) $(CORE_LIBS)
vsrun-net.so: $(REL_NET)
	@echo "  LD      $@"; $(CC) $(CFLAGS) -shared -o $@ $^ $(NET_LIBS) && chmod go-w $@

build/asan/vsrun: $(ASAN_CORE) build/asan/vsrun.dynlist | build/asan/vsrun-net.so
	@echo "  LD asan $@"; $(CC) $(SAN) -Wl,--dynamic-list=build/asan/vsrun.dynlist -o $@ $(ASAN_CORE) $(CORE_LIBS)
build/asan/vsrun-net.so: $(ASAN_NET)
	@echo "  LD asan $@"; $(CC) $(SAN) -shared -o $@ $^ $(NET_LIBS) && chmod go-w $@

asan: build/asan/vsrun

# C unit tests link every host object except main.o into one program; the network
# library's table is then the program's own (tests/unit/netlib_static.c), not a file.
UNIT_REL := $(filter-out build/rel/main.o build/rel/netlib.o,$(REL_CORE)) $(REL_NET) build/rel/netlib_static.o
UNIT_ASAN := $(filter-out build/asan/main.o build/asan/netlib.o,$(ASAN_CORE)) $(ASAN_NET) build/asan/netlib_static.o
build/rel/netlib_static.o: tests/unit/netlib_static.c host/netlib.h build/gen/netlib_stamp.h
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<
build/asan/netlib_static.o: tests/unit/netlib_static.c host/netlib.h build/gen/netlib_stamp.h
	$(CC) $(CPPFLAGS) -O1 -g $(SAN) $(WARN) -c -o $@ $<
build/rel/unit/%: tests/unit/%.c $(UNIT_REL) tests/unit/check.h
	@mkdir -p build/rel/unit
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) -o $@ $< $(UNIT_REL) $(LDLIBS)
build/asan/unit/%: tests/unit/%.c $(UNIT_ASAN) tests/unit/check.h
	@mkdir -p build/asan/unit
	$(CC) $(CPPFLAGS) -Itests/unit -O1 -g $(SAN) $(WARN) -o $@ $< $(UNIT_ASAN) $(LDLIBS)

UNITS := $(UNIT_SRC:tests/unit/%.c=%)

test check: deps
	@$(MAKE) --no-print-directory test-build
	@tests/run

test-build: vsrun build/asan/vsrun $(UNITS:%=build/rel/unit/%) $(UNITS:%=build/asan/unit/%) fuzz-build

# The bench's "before" baseline: the same objects linked eagerly into one program, as before
# the network library was split out (tests/bench/startup.sh).
build/rel/vsrun-eager: $(UNIT_REL) build/rel/main.o
	@echo "  LD      $@"; $(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench: deps
	@$(MAKE) --no-print-directory vsrun build/rel/vsrun-eager
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
FUZZ_OBJ := $(filter-out build/fuzz/main.o build/fuzz/netlib.o,$(HOST_SRC:host/%.c=build/fuzz/%.o)) \
            build/fuzz/embedded.o build/fuzz/netlib_static.o

FUZZ_SECONDS ?= 60

build/fuzz/%.o: host/%.c $(wildcard host/*.h) | build/gen/embedded.c build/gen/netlib_stamp.h
	@mkdir -p build/fuzz
	@echo "  CC fuzz $<"; $(FUZZ_CC) $(CPPFLAGS) -O1 -g $(FUZZ_SAN) -std=c11 -w -c -o $@ $<
build/fuzz/embedded.o: build/gen/embedded.c
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) -O1 -c -o $@ $<
build/fuzz/netlib_static.o: tests/unit/netlib_static.c host/netlib.h build/gen/netlib_stamp.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) -O1 -g $(FUZZ_SAN) -std=c11 -w -c -o $@ $<
build/fuzz/net_entry.o: build/gen/netlib_stamp.h
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
# The network library goes to PREFIX/lib/vsrun, where the binary looks for it (host/netlib.c).
install: vsrun vsrun-net.so
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/vsrun/lib \
	  $(DESTDIR)$(PREFIX)/lib/vsrun
	install -m 0755 vsrun $(DESTDIR)$(PREFIX)/bin/vsrun
	install -m 0644 vsrun-net.so $(DESTDIR)$(PREFIX)/lib/vsrun/vsrun-net.so
	install -m 0644 docs/vsrun.1 $(DESTDIR)$(PREFIX)/share/man/man1/vsrun.1
	install -m 0644 $(LIB_MODULES) $(DESTDIR)$(PREFIX)/share/vsrun/lib/

clean:
	rm -rf build vsrun vsrun-net.so
