# onyx — GNU make, out-of-tree build under $(BUILD).
#   make            library (static + shared), the onyx tool, the examples
#   make test       build and run every test (ends with "N passed, M failed")
#   make sanitize   the same build with ASan+UBSan in build-sanitize/
#   make tsan       the concurrency tests under ThreadSanitizer
#   make demo       build, then run a shipped example model
#   make conformance  run the ONNX conformance data, write docs/conformance.md
#   make fuzz       libFuzzer targets under fuzz/, FUZZ_SECONDS each (clang)
#   make examples   regenerate examples/ and tests/models/ (needs python3-torch, python3-onnx)
#   make bench      time onyx next to ONNX Runtime on bench/models, write docs/performance.md
#   make bench-sgemm  time ox_sgemm next to OpenBLAS (needs libopenblas-dev; SGEMM_ARGS="1024")
#   make install    install header, libraries, tool and onyx.pc under $(DESTDIR)$(PREFIX)
#   make uninstall  remove what make install put there

CC ?= cc
BUILD ?= build
SAN ?= 0
OPT ?= -O2

WARN := -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wno-unused-parameter -Wno-missing-field-initializers -Werror
CFLAGS_BASE := -std=c11 $(WARN) -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
               -Iinclude -Isrc -fPIC -g
ifeq ($(FUZZ),1)
  OPT := -O1
  CFLAGS_BASE += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS_SAN := -fsanitize=address,undefined
endif
ifeq ($(TSAN),1)
  OPT := -O1
  CFLAGS_BASE += -fsanitize=thread -fno-omit-frame-pointer
  LDFLAGS_SAN := -fsanitize=thread
endif
ifeq ($(SAN),1)
  OPT := -O1
  CFLAGS_BASE += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS_SAN := -fsanitize=address,undefined
endif
ALL_CFLAGS := $(CFLAGS_BASE) $(OPT) $(CFLAGS)
LIBS := -lm -lpthread

SRCS := $(sort $(wildcard src/*/*.c src/*/*/*.c))
OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/*.c))
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)

# kernels for x86 SIMD get their ISA flags per file; the dispatcher picks at run time
$(BUILD)/obj/src/kernels/x86/%.o: ALL_CFLAGS += -mavx2 -mfma -mf16c
$(BUILD)/obj/src/kernels/x86/%_avx512.o: ALL_CFLAGS += -mavx512f -mavx512dq -mavx512vl -mavx512bw
# clang's ASan and UBSan take over ten minutes on the unrolled register loops of the
# depthwise channel-block kernel: the libFuzzer build compiles that file without them
# (the gcc sanitizer build of the unit tests keeps them)
ifeq ($(FUZZ),1)
$(BUILD)/obj/src/kernels/x86/dwconv_cb_avx512.o: ALL_CFLAGS += -fno-sanitize=address,undefined
endif

SOVERSION := 0
LIB_A := $(BUILD)/libonyx.a
LIB_SO := $(BUILD)/libonyx.so
TOOL := $(BUILD)/onyx
UNIT := $(BUILD)/unit_tests
HELLO := $(BUILD)/hello

.PHONY: all tests test sanitize tsan demo clean examples conformance fuzz fuzz-targets install uninstall
all: $(LIB_A) $(LIB_SO) $(TOOL) $(HELLO)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(OBJS)
	$(CC) -shared -Wl,-soname,libonyx.so.$(SOVERSION) $(LDFLAGS_SAN) -o $@ $^ $(LIBS)

$(TOOL): $(TOOL_OBJS) $(LIB_A)
	$(CC) $(LDFLAGS_SAN) -o $@ $(TOOL_OBJS) $(LIB_A) $(LIBS)

$(HELLO): $(BUILD)/obj/examples/hello.o $(LIB_A)
	$(CC) $(LDFLAGS_SAN) -o $@ $< $(LIB_A) $(LIBS)

$(UNIT): $(TEST_OBJS) $(LIB_A)
	$(CC) $(LDFLAGS_SAN) -o $@ $(TEST_OBJS) $(LIB_A) $(LIBS)

# fuzz targets: libFuzzer builds (make fuzz) and plain replay drivers (make test)
FUZZ_TARGETS := load run
$(BUILD)/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(LIB_A)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_A) $(LIBS)
$(BUILD)/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/replay.o $(LIB_A)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(LIBS)
fuzz-targets: $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)

fuzz:
	@sh tools/fuzz.sh

tests: $(UNIT) $(TOOL) $(FUZZ_TARGETS:%=$(BUILD)/replay_%)

test: all tests
	@BUILD=$(BUILD) sh tests/run.sh

sanitize:
	$(MAKE) BUILD=build-sanitize SAN=1 all tests

# concurrent runs of one session under ThreadSanitizer
tsan:
	$(MAKE) BUILD=build-tsan TSAN=1 tests
	TSAN_OPTIONS=halt_on_error=1 build-tsan/unit_tests concurrent

demo: all
	@echo "== onyx info examples/linear_tanh/model.onnx"
	@$(TOOL) info examples/linear_tanh/model.onnx
	@echo "== onyx run examples/linear_tanh/model.onnx -i x=examples/linear_tanh/test_data_set_0/input_0.pb"
	@$(TOOL) run examples/linear_tanh/model.onnx -i x=examples/linear_tanh/test_data_set_0/input_0.pb

# run every ONNX conformance case; write docs/conformance.md, grow tests/conformance.txt
conformance: all
	@BUILD=$(BUILD) sh tools/conformance.sh

# regenerate the example models with Debian's python3-torch / python3-onnx
examples:
	/usr/bin/python3 tools/export_examples.py
	/usr/bin/python3 tools/make_test_models.py

# onyx next to ONNX Runtime (npm onnxruntime-node) on the models of tools/make_bench_models.py;
# about 10 minutes on 2 cores (BENCH_ROUNDS, BENCH_BUDGET_MS, BENCH_THREADS tune it)
.PHONY: bench
bench: all
	@BUILD=$(BUILD) sh bench/run.sh

# SGEMM benchmark against OpenBLAS: built only here, never by all/test
BENCH_SGEMM := $(BUILD)/sgemm_bench
.PHONY: bench-sgemm
bench-sgemm: $(LIB_A)
	@pkg-config --exists openblas 2>/dev/null || { echo "bench-sgemm needs OpenBLAS:" \
	  "apt-get install libopenblas-dev (and pkg-config)"; exit 1; }
	$(CC) $(ALL_CFLAGS) $$(pkg-config --cflags openblas) -o $(BENCH_SGEMM) bench/sgemm_bench.c \
	  $(LDFLAGS_SAN) $(LIB_A) $$(pkg-config --libs openblas) $(LIBS)
	$(BENCH_SGEMM) $(SGEMM_ARGS)

clean:
	rm -rf build build-sanitize build-tsan build-fuzz build-clang

# ---- install ------------------------------------------------------------------
# The shared library is installed as libonyx.so.$(VERSION), with the links
# libonyx.so.$(SOVERSION) (its soname, what programs load) and libonyx.so (what -lonyx finds).
VERSION := $(shell sed -n 's/^\#define ONYX_VERSION_STRING "\(.*\)"/\1/p' include/onyx.h)
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install

# onyx.pc is written at install time: its prefix is the PREFIX of this install
PC_LINES := 'prefix=$(PREFIX)' 'exec_prefix=$${prefix}' \
    'libdir=$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))' \
    'includedir=$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))' '' \
    'Name: onyx' 'Description: ONNX inference engine in C' 'Version: $(VERSION)' \
    'Libs: -L$${libdir} -lonyx' 'Libs.private: -lm -lpthread' 'Cflags: -I$${includedir}'

install: all
	$(INSTALL) -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' \
	    '$(DESTDIR)$(PKGCONFIGDIR)'
	$(INSTALL) -m 644 include/onyx.h '$(DESTDIR)$(INCLUDEDIR)/onyx.h'
	$(INSTALL) -m 644 $(LIB_A) '$(DESTDIR)$(LIBDIR)/libonyx.a'
	$(INSTALL) -m 755 $(LIB_SO) '$(DESTDIR)$(LIBDIR)/libonyx.so.$(VERSION)'
	ln -sf libonyx.so.$(VERSION) '$(DESTDIR)$(LIBDIR)/libonyx.so.$(SOVERSION)'
	ln -sf libonyx.so.$(SOVERSION) '$(DESTDIR)$(LIBDIR)/libonyx.so'
	$(INSTALL) -m 755 $(TOOL) '$(DESTDIR)$(BINDIR)/onyx'
	printf '%s\n' $(PC_LINES) >'$(DESTDIR)$(PKGCONFIGDIR)/onyx.pc'
	chmod 644 '$(DESTDIR)$(PKGCONFIGDIR)/onyx.pc'

uninstall:
	rm -f '$(DESTDIR)$(INCLUDEDIR)/onyx.h' '$(DESTDIR)$(LIBDIR)/libonyx.a' \
	    '$(DESTDIR)$(LIBDIR)/libonyx.so.$(VERSION)' '$(DESTDIR)$(LIBDIR)/libonyx.so.$(SOVERSION)' \
	    '$(DESTDIR)$(LIBDIR)/libonyx.so' '$(DESTDIR)$(BINDIR)/onyx' '$(DESTDIR)$(PKGCONFIGDIR)/onyx.pc'

-include $(OBJS:.o=.d) $(TOOL_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BUILD)/obj/examples/hello.d \
         $(wildcard $(BUILD)/obj/fuzz/*.d)
