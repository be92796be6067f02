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
# Outside the system's own library directories (even /usr/local/lib needs
# an ldconfig first), programs built with pkg-config find the library by
# a run path: built, they run.
RPATH := $(if $(filter /usr/lib /lib /usr/lib64 /lib64 /usr/lib/$(shell $(CC) -dumpmachine 2>/dev/null),$(LIBDIR)),,-Wl,-rpath,$${libdir} )
# The Python module goes where the python3 found here looks: its own
# purelib for the default prefix (/usr/local/lib/python3.X/dist-packages on
# Debian), else that prefix's (PREFIX/lib/python3.X/site-packages).
PYTHON ?= python3
ifeq ($(PREFIX),/usr/local)
PYTHONDIR ?= $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("purelib"))' 2>/dev/null)
else
PYTHONDIR ?= $(shell $(PYTHON) -c 'import sysconfig, sys; p = sys.argv[1]; \
	print(sysconfig.get_path("purelib", "posix_prefix", {"base": p, "platbase": p}))' '$(PREFIX)' 2>/dev/null)
endif

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
SAN := -fsanitize=thread -Wno-tsan
else
BUILD ?= build
SAN :=
endif

BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARNINGS) $(SAN) $(CFLAGS)
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -Iinclude -Isrc
# The CLI, the benchmark and the examples see the public header only.
APP_CFLAGS := $(BASE_CFLAGS) -Iinclude -Icli
TEST_CFLAGS := $(BASE_CFLAGS) -Iinclude -Isrc -Itests
LDLIBS := -lpthread -lrt

LIB_SRCS := $(wildcard src/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(wildcard cli/*.c bench/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)

# ZeroMQ is an optional benchmark peer: used when its headers are here.
HAVE_ZMQ := $(shell printf '\043include <zmq.h>\nint main(void){return 0;}' | \
	$(CC) -x c - -o /dev/null -lzmq >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_ZMQ),1)
BENCH_CFLAGS := -DHAVE_ZMQ
BENCH_LIBS := -lzmq
endif

# The Python binding's native core, where Python's headers are installed
# (Debian: python3-dev).  It links the library's objects in, so the module
# needs no libshmq.so at run time.
PY_INCLUDE := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
PY_EXT := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX") or "")' 2>/dev/null)
HAVE_PYTHON := $(if $(PY_EXT),$(if $(wildcard $(PY_INCLUDE)/Python.h),1))
PYCORE := $(BUILD)/python/_shmq$(PY_EXT)

SONAME := libshmq.so.$(VERSION_MAJOR)
SHLIB := $(BUILD)/libshmq.so.$(VERSION)
STLIB := $(BUILD)/libshmq.a
CLI := $(BUILD)/shmq

TEST_C := $(sort $(wildcard tests/*.c))
TEST_BINS := $(TEST_C:tests/%.c=$(BUILD)/tests/%)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(wildcard tests/helpers/*.c))
TESTS := $(sort $(TEST_C) $(wildcard tests/*.sh) $(wildcard tests/*.py))

all: $(SHLIB) $(STLIB) $(CLI) $(if $(HAVE_PYTHON),$(PYCORE),python-note)

python-note:
	@echo "note: no Python headers ($(PYTHON), Python.h): the Python binding is not built (apt install python3-dev)"

# -MMD: each object depends on exactly the headers it includes.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(if $(filter src/%,$<),$(LIB_CFLAGS),$(APP_CFLAGS) $(BENCH_CFLAGS)) -MMD -MP -c -o $@ $<

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
	$(CC) $(BASE_CFLAGS) -o $@ $(CLI_OBJS) $(STLIB) $(LDLIBS) $(BENCH_LIBS)

$(BUILD)/tests/%: tests/%.c $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(STLIB) $(LDLIBS)

$(BUILD)/helpers/%: tests/helpers/%.c $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(BENCH_CFLAGS) -MMD -MP -o $@ $< $(STLIB) $(LDLIBS) $(BENCH_LIBS)

$(PYCORE): python/_shmq.c include/shmq.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -fPIC -shared -Iinclude -isystem $(PY_INCLUDE) \
		-o $@ python/_shmq.c $(LIB_OBJS) $(LDLIBS)

tests: $(TEST_BINS) $(HELPER_BINS)

# Every test under prove, each with a deadline (tests/run), and a check
# that the suite leaves `ipcs -m` as it found it (tests/lib/check-ipcs.sh:
# on a shared host, others' live processes may add segments meanwhile).
# A failure says why at the end: tests/lib/why.sh prints each failed test's
# "not ok" lines, their diagnostics and its stderr.
test: all tests
	@rm -rf $(BUILD)/test-logs
	@BUILD=$(BUILD) SAN_CFLAGS="$(SAN)" tests/lib/check-ipcs.sh prove -f --exec tests/run $(TESTS); \
		st=$$?; BUILD=$(BUILD) tests/lib/skips.sh; \
		[ $$st = 0 ] || { BUILD=$(BUILD) tests/lib/why.sh; exit 1; }

TSAN_TESTS := $(wildcard tests/ring_threaded_*.c tests/channel_threaded_*.c)

# Fault injection: thousands of rounds of kills (make test runs 200).
TORTURE_ROUNDS ?= 5000
torture: tests
	SHMQ_TORTURE_ROUNDS=$(TORTURE_ROUNDS) TEST_TIMEOUT=86400 BUILD=$(BUILD) \
		tests/lib/check-ipcs.sh prove -v --exec tests/run tests/channel_torture_random_kills.c

# The fuzzer (clang's libFuzzer, with ASan and UBSan) for FUZZ_SECONDS,
# starting from fuzz/corpus; what it finds new goes to build/fuzz/found.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
fuzz:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) is not installed: skipped"; exit 0; }; \
	mkdir -p build/fuzz/found && \
	$(FUZZ_CC) -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -Iinclude -Isrc -o build/fuzz/fuzz_channel \
		fuzz/fuzz_channel.c $(LIB_SRCS) -lpthread && \
	build/fuzz/fuzz_channel -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/found fuzz/corpus \
		> build/fuzz/log 2>&1; \
	status=$$?; \
	grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added)" build/fuzz/log; \
	if [ $$status -ne 0 ]; then tail -40 build/fuzz/log; echo "fuzz: FAILED (see build/fuzz/log)"; exit $$status; fi

# Seeds for the fuzzer, made by the library itself (checked in).
corpus: all
	$(CC) $(APP_CFLAGS) -o build/make_corpus fuzz/make_corpus.c $(STLIB) $(LDLIBS)
	build/make_corpus fuzz/corpus

# The single-process tests under valgrind's memcheck.
VALGRIND_TESTS := address_parse_and_ftok_equality ring_units_on_malloc_memory \
	segment_create_attach_detach_remove segment_stat_reports_every_field \
	segment_list_shows_created_until_removed fuzz_corpus_replays_cleanly
valgrind: tests
	@command -v valgrind >/dev/null || { echo "valgrind is not installed: skipped"; exit 0; }; \
	for t in $(VALGRIND_TESTS); do \
		echo "== valgrind $$t"; \
		valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
			$(BUILD)/tests/$$t > /dev/null || { echo "valgrind: $$t is not clean"; exit 1; }; \
	done; echo "valgrind: all clean"

tsan:
	$(MAKE) SANITIZE=thread tests
	@rm -rf build/tsan/test-logs
	@BUILD=build/tsan prove -f --exec tests/run $(TSAN_TESTS) || \
		{ BUILD=build/tsan tests/lib/why.sh; exit 1; }

demo: all
	@$(CLI) demo

# The benchmark, kept: bench/results/DATE-HOST.{json,csv,md}.
RESULT := bench/results/$(shell date +%Y-%m-%d)-$(shell hostname -s 2>/dev/null || hostname)
bench: all
	@mkdir -p bench/results
	$(CLI) bench --save $(RESULT)
	@if [ -n "$(HAVE_PYTHON)" ] && [ -z "$(SAN)" ]; then \
		echo "== Python to Python (python/bench.py)"; \
		PYTHONPATH=python SHMQ_PYTHON_CORE=$(BUILD)/python $(PYTHON) python/bench.py | tee $(RESULT)-python.md; \
	else echo "no Python headers (or a sanitizer build): python/bench.py is skipped"; fi

# A chart of the newest results, if gnuplot is installed.
bench-report:
	@latest=$$(ls -t bench/results/*.csv 2>/dev/null | head -1); \
	if [ -z "$$latest" ]; then echo "no results yet: run make bench first"; exit 1; fi; \
	if ! command -v gnuplot >/dev/null; then \
		echo "gnuplot is not installed: no chart (apt install gnuplot-nox); the tables are in $${latest%.csv}.md"; \
		exit 0; fi; \
	awk -F, 'NR > 1 && $$4 == 1024 && $$5 == "ok" { if ($$3 == "ping-pong") pp[$$1] = $$7; \
		if ($$3 == "stream") st[$$1] = $$7; if (!($$1 in seen)) { seen[$$1] = 1; order[n++] = $$1 } } \
		END { for (i = 0; i < n; i++) print order[i] "," (pp[order[i]] ? pp[order[i]] : 1) "," (st[order[i]] ? st[order[i]] : 1) }' \
		"$$latest" > "$${latest%.csv}.dat"; \
	gnuplot -e "data='$${latest%.csv}.dat'; out='$${latest%.csv}.png'; title='$$(basename $${latest%.csv})'" bench/plot.gp && \
	rm -f "$${latest%.csv}.dat" && echo "wrote $${latest%.csv}.png"

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
	    -e 's|@RPATH@|$(RPATH)|' shmq.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/shmq.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/shmq.pc
	for m in $(wildcard man/*.1); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	install -m 644 man/shmq.3 $(DESTDIR)$(MANDIR)/man3/
	@# Every exported function finds shmq(3) under its own name.
	for f in $$(sed -n 's/^[[:space:]]*\(shmq_[a-z_]*\);/\1/p' src/libshmq.map); do \
		echo '.so man3/shmq.3' > $(DESTDIR)$(MANDIR)/man3/$$f.3; done
	@if [ -z "$(HAVE_PYTHON)" ]; then \
		echo "no Python headers: the Python module is not installed (apt install python3-dev)"; \
	elif [ -n "$(PYTHONDIR)" ]; then \
		install -d $(DESTDIR)$(PYTHONDIR) && \
		install -m 644 python/shmq.py python/shmq.pyi $(DESTDIR)$(PYTHONDIR)/ && \
		install -m 755 $(PYCORE) $(DESTDIR)$(PYTHONDIR)/ && \
		echo "installed the Python module in $(DESTDIR)$(PYTHONDIR)" && \
		{ $(PYTHON) -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' '$(PYTHONDIR)' || \
		  echo "  (not on $(PYTHON)'s path: PYTHONPATH=$(PYTHONDIR))"; }; \
	else echo "no $(PYTHON): the Python module is not installed (PYTHONDIR=... to place it)"; fi
	@# The loader's cache, so that /usr/local/lib's new library is found at once.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		ldconfig && echo "ran ldconfig"; fi

# Removes exactly what install puts there (same PREFIX, DESTDIR, PYTHONDIR).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/shmq $(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libshmq.so \
		$(DESTDIR)$(LIBDIR)/$(notdir $(STLIB)) $(DESTDIR)$(INCLUDEDIR)/shmq.h \
		$(DESTDIR)$(PKGCONFIGDIR)/shmq.pc $(DESTDIR)$(MANDIR)/man3/shmq.3
	for m in $(notdir $(wildcard man/*.1)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	for f in $$(sed -n 's/^[[:space:]]*\(shmq_[a-z_]*\);/\1/p' src/libshmq.map); do \
		rm -f $(DESTDIR)$(MANDIR)/man3/$$f.3; done
	@if [ -n "$(PYTHONDIR)" ]; then rm -f $(DESTDIR)$(PYTHONDIR)/shmq.py $(DESTDIR)$(PYTHONDIR)/shmq.pyi \
		$(DESTDIR)$(PYTHONDIR)/$(notdir $(PYCORE)); fi

clean:
	rm -rf build

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/tests/*.d)

.PHONY: all python-note tests test tsan torture fuzz corpus valgrind demo bench bench-report install uninstall clean
.DELETE_ON_ERROR:
