# shmq: GNU Make build.  `make`, `make test`, `make demo`, `make install`.
#
#   make test SANITIZE=1      the whole suite under ASan + UBSan (build/asan)
#   make tsan                 the threaded tests under TSan (build/tsan)
#   make WERROR=1             warnings are errors (CI does this)

VERSION_MAJOR := 0
VERSION_MINOR := 1
VERSION_PATCH := 0
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SANITIZE),thread)
BUILD ?= build/tsan
SAN := -fsanitize=thread
else
BUILD ?= build
SAN :=
endif

BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARNINGS) $(SAN) $(CFLAGS)
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -Iinclude -Isrc
# The CLI, the benchmark and the examples see the public header only.
APP_CFLAGS := $(BASE_CFLAGS) -Iinclude
TEST_CFLAGS := $(BASE_CFLAGS) -Iinclude -Isrc -Itests
LDLIBS := -lpthread -lrt

LIB_SRCS := $(wildcard src/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)

SONAME := libshmq.so.$(VERSION_MAJOR)
SHLIB := $(BUILD)/libshmq.so.$(VERSION)
STLIB := $(BUILD)/libshmq.a
CLI := $(BUILD)/shmq

TEST_C := $(sort $(wildcard tests/*.c))
TEST_BINS := $(TEST_C:tests/%.c=$(BUILD)/tests/%)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(wildcard tests/helpers/*.c))
TESTS := $(sort $(TEST_C) $(wildcard tests/*.sh) $(wildcard tests/*.py))

all: $(SHLIB) $(STLIB) $(CLI)

$(BUILD)/%.o: %.c $(wildcard include/*.h src/*.h cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(if $(filter src/%,$<),$(LIB_CFLAGS),$(APP_CFLAGS)) -c -o $@ $<

$(SHLIB): $(LIB_OBJS) src/libshmq.map
	$(CC) $(BASE_CFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=src/libshmq.map -Wl,-z,defs \
		-o $@ $(LIB_OBJS) $(LDLIBS)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libshmq.so

$(STLIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The command links the archive, so it runs from anywhere without
# LD_LIBRARY_PATH; it still uses nothing but include/shmq.h.
$(CLI): $(CLI_OBJS) $(STLIB)
	$(CC) $(BASE_CFLAGS) -o $@ $(CLI_OBJS) $(STLIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(STLIB) tests/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(STLIB) $(LDLIBS)

$(BUILD)/helpers/%: tests/helpers/%.c $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(STLIB) $(LDLIBS)

tests: $(TEST_BINS) $(HELPER_BINS)

# Every test under prove, each with a deadline (tests/run), and a check
# that the suite leaves `ipcs -m` exactly as it found it.
test: all tests
	@BUILD=$(BUILD) SAN_CFLAGS="$(SAN)" tests/lib/check-ipcs.sh prove -f --exec tests/run $(TESTS)

TSAN_TESTS := $(wildcard tests/ring_threaded_*.c tests/channel_threaded_*.c)

tsan:
	$(MAKE) SANITIZE=thread tests
	BUILD=build/tsan prove -f --exec tests/run $(TSAN_TESTS)

demo: all
	@$(CLI) demo

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/shmq
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libshmq.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 include/shmq.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    shmq.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/shmq.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/shmq.pc
	for m in $(wildcard man/*.1); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(wildcard man/*.3); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man3/; done

clean:
	rm -rf build

.PHONY: all tests test tsan demo install clean
.DELETE_ON_ERROR:
