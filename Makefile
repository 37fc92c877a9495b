# clean-release — build, test, demo, bench.
# `make deps` installs every Debian package needed; `make` builds build/git-clean-release.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SANITIZE ?=
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)

# The program links the core's libraries; the REST server and the terminal
# client are programs of their own, which alone link libmicrohttpd (with
# GnuTLS) and ncurses (docs/design.md, "Process start").
CORE_PKGS := libgit2 libcjson libpcre2-8 libcrypto libhs
PKGS := $(CORE_PKGS) libmicrohttpd ncursesw
CC   ?= cc
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
	-fno-strict-aliasing -Isrc -I$(BUILD)/gen
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CORE_LIBS  := $(shell pkg-config --libs $(CORE_PKGS) 2>/dev/null) -lpthread -lm
SERVE_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
TUI_LIBS   := $(shell pkg-config --libs ncursesw 2>/dev/null)

ifeq ($(SANITIZE),1)
  BUILD := build-san
  CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-Isrc -I$(BUILD)/gen
  LDFLAGS_SAN := -fsanitize=address,undefined
  # Leaks inside linked libraries, each named in the file.
  export LSAN_OPTIONS := suppressions=$(abspath tests/lsan.supp):print_suppressions=0
endif

# ThreadSanitizer: the server's tests (t4*), in their own build directory.
TSAN ?=
E2E_TESTS := tests/e2e/*.t
ifeq ($(TSAN),1)
  BUILD := build-tsan
  CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
	-fno-omit-frame-pointer -fsanitize=thread -Isrc -I$(BUILD)/gen
  LDFLAGS_SAN := -fsanitize=thread
  E2E_TESTS := tests/e2e/t4*.t
  export TSAN_OPTIONS := halt_on_error=1 exitcode=66 suppressions=$(abspath tests/tsan.supp)
endif

CFLAGS  := $(CFLAGS_BASE) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  := $(PKG_LIBS) $(LDFLAGS_SAN)
CORE_LDLIBS := $(CORE_LIBS) $(LDFLAGS_SAN)

# Every .c under src/ except the programs' entries goes into the library that
# the programs and the unit tests link.
LIB_SRCS := $(filter-out src/cli/main%.c,$(shell find src -name '*.c' | sort))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(BUILD)/obj/gen/embedded.o
MAIN_OBJ := $(BUILD)/obj/cli/main.o
BIN      := $(BUILD)/git-clean-release
BIN_SERVE := $(BUILD)/clean-release-serve
BIN_TUI  := $(BUILD)/clean-release-tui
PROGS    := $(BIN) $(BIN_SERVE) $(BIN_TUI)
LIB      := $(BUILD)/libcleanrelease.a
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# The OpenAPI document is embedded as JSON (the API validates request bodies
# against its components), converted at build time by Debian's python3-yaml.
OPENAPI_JSON := $(BUILD)/gen/clean-release-api.openapi.json
EMBED    := $(sort $(wildcard schemas/*.json)) contrib/demo/demo-policy.json contrib/demo/demo-registry.json \
	hooks/pre-receive hooks/pre-push $(OPENAPI_JSON)

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

.PHONY: all deps test unit e2e demo demo-run bench FORCE install check-layers check-style clean
all: $(PROGS)

$(OPENAPI_JSON): schemas/clean-release-api.openapi.yaml src/util/yaml2json.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 src/util/yaml2json.py $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/embedded.c: $(EMBED) src/util/embed.sh
	@mkdir -p $(dir $@)
	sh src/util/embed.sh $(EMBED) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/embedded.o: $(BUILD)/gen/embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The version (git describe) in a header rewritten only when it changes, so
# `--version` is never stale and nothing else rebuilds for it.
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@v='#define CR_VERSION "$(VERSION)"'; [ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" >$@

VERSION_USERS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(shell grep -rl '^\#include <version.h>' src))
$(VERSION_USERS): $(BUILD)/gen/version.h
FORCE:

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) -o $@ $^ $(CORE_LDLIBS)
	ln -sf git-clean-release $(BUILD)/clean-release

$(BIN_SERVE): $(BUILD)/obj/cli/main_serve.o $(LIB)
	$(CC) -o $@ $^ $(SERVE_LIBS) $(CORE_LDLIBS)

$(BIN_TUI): $(BUILD)/obj/cli/main_tui.o $(LIB)
	$(CC) -o $@ $^ $(TUI_LIBS) $(CORE_LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDLIBS) $(shell pkg-config --libs cmocka)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	sh contrib/deps.sh

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "# $$t"; $$t || fail=1; done; exit $$fail

# End-to-end tests run the installed binary: install into a staging prefix.
STAGE := $(abspath $(BUILD))/stage
e2e: $(PROGS)
	$(MAKE) --no-print-directory install DESTDIR= PREFIX=$(STAGE) SANITIZE=$(SANITIZE) TSAN=$(TSAN)
	CR_PREFIX=$(STAGE) prove -j$(JOBS) -e sh $(E2E_TESTS)

# Under TSAN=1, the server's end-to-end tests only (the unit tests' memory
# bounds do not hold under its shadow memory; SANITIZE=1 runs them).
TEST_UNIT := $(if $(filter 1,$(TSAN)),,unit)
test: check-style check-layers $(TEST_UNIT) e2e

check-style:
	@sh tests/check-style.sh

check-layers:
	@sh tests/check-layers.sh

# deps first, then a fresh make so that pkg-config sees what deps installed.
demo: deps
	$(MAKE) --no-print-directory demo-run

demo-run: $(PROGS)
	sh contrib/demo/demo.sh $(abspath $(BIN))

bench: $(PROGS)
	sh contrib/bench/bench.sh $(abspath $(BIN))

install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/clean-release \
		$(DESTDIR)$(PREFIX)/share/clean-release/hooks \
		$(DESTDIR)$(PREFIX)/share/clean-release/schemas $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/git-clean-release
	install -m 755 $(BIN_SERVE) $(BIN_TUI) $(DESTDIR)$(PREFIX)/libexec/clean-release/
	ln -sf git-clean-release $(DESTDIR)$(PREFIX)/bin/clean-release
	for h in hooks/*; do [ -f "$$h" ] && install -m 755 "$$h" $(DESTDIR)$(PREFIX)/share/clean-release/hooks/ || true; done
	install -m 644 schemas/* $(DESTDIR)$(PREFIX)/share/clean-release/schemas/
	install -m 644 docs/git-clean-release.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-san build-tsan
