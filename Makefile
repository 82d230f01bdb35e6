# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# vipxdp build. Everything goes to $(BUILD)/.
#   make            build the BPF object, its skeleton and build/vipxdp
#   make test       install missing dependencies, build, run every test
#   make demo       install missing dependencies, build, run the demo
#   make bench      install missing dependencies (with the benchmarks' own), build,
#                   run the data-path and the end-to-end benchmarks
#   make bench KATRAN=DIR  also the data path side by side with Katran's, built
#                   from the checkout in DIR (tools/bench_katran.sh)
#   make bench REPEAT=N  the data-path benchmarks N times over, everything
#                   loaded afresh each time, with each figure's median and range
#   make V=1        show full commands

BUILD ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration \
	  -D_GNU_SOURCE -MMD -MP -Iinclude -Iuserspace -I$(BUILD)
LDLIBS += -lbpf -lelf -lz -lyaml -lm -pthread

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__BPF__ -D__TARGET_ARCH_$(ARCH) \
	      -Wall -Wno-unused-function -MMD -MP -Iinclude -Ibpf \
	      $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH))

BPF_SRC := bpf/vipxdp.bpf.c
BPF_OBJ := $(BUILD)/vipxdp.bpf.o
BPF_LINKED := $(BUILD)/vipxdp.o
SKEL := $(BUILD)/vipxdp.skel.h

# Userspace: every userspace/*.c but main.c goes into a library that the
# binary and the tests link.
LIB_SRC := $(filter-out userspace/main.c,$(wildcard userspace/*.c))
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB := $(BUILD)/libvipxdp.a
BIN := $(BUILD)/vipxdp

TEST_SRC := $(wildcard tests/unit/test_*.c tests/packet/test_*.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_HELPERS := $(wildcard tests/packet/pkt_*.c)
TEST_HELPER_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_HELPERS))

TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))

.DELETE_ON_ERROR:
# Object files made through pattern chains are kept (not intermediates).
.PRECIOUS: $(BUILD)/obj/%.o
.PHONY: all clean deps test demo bench check-format install

PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= /lib/systemd/system

all: $(BIN) $(TEST_BIN) $(TOOL_BIN)

$(BPF_OBJ): $(BPF_SRC) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_LINKED): $(BPF_OBJ)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(SKEL): $(BPF_LINKED)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name vipxdp_bpf > $@

$(BUILD)/obj/%.o: %.c $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/obj/userspace/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELPER_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(TEST_HELPER_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD):
	$(Q)mkdir -p $@

deps:
	$(Q)tools/install-deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh

bench:
	$(Q)tools/install-deps.sh --bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench.sh $(if $(REPEAT),--repeat $(REPEAT))
	$(Q)tools/bench_e2e.sh
	$(Q)if [ -n "$(KATRAN)" ]; then tools/bench_katran.sh "$(KATRAN)" $(if $(REPEAT),--repeat $(REPEAT)); fi

check-format:
	$(Q)clang-format --dry-run --Werror $(wildcard bpf/*.c bpf/lib/*.h userspace/*.[ch] include/*.h)

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/vipxdp
	install -D -m 0644 docs/vipxdp.8 $(DESTDIR)$(MANDIR)/man8/vipxdp.8
	install -D -m 0644 deploy/vipxdp.bash-completion $(DESTDIR)$(COMPDIR)/vipxdp
	install -D -m 0644 deploy/vipxdp.service $(DESTDIR)$(UNITDIR)/vipxdp.service
	install -D -m 0644 deploy/examples/policy.yaml $(DESTDIR)/etc/vipxdp/policy.yaml.example

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

-include $(BPF_OBJ:.o=.d)
-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/userspace/main.d
-include $(patsubst %.c,$(BUILD)/obj/%.d,$(TEST_SRC) $(TEST_HELPERS) $(TOOL_SRC))

# --- benchmarks ---
# tools/bench/*.bpf.c: helper BPF programs of the benchmarks, built like the
# data path (same clang flags) into $(BUILD)/bench/ with a skeleton each.
# build/tools/bench_datapath also links the packet builder of the tests.
BENCH_BPF_SRC := $(wildcard tools/bench/*.bpf.c)
BENCH_BPF_OBJ := $(patsubst tools/bench/%.bpf.c,$(BUILD)/bench/%.bpf.o,$(BENCH_BPF_SRC))
BENCH_SKELS := $(patsubst tools/bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(BENCH_BPF_SRC))

$(BUILD)/bench/%.bpf.o: tools/bench/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.o: $(BUILD)/bench/%.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/obj/tools/bench_datapath.o: $(BENCH_SKELS)
$(BUILD)/obj/tools/bench_datapath.o: CFLAGS += -I$(BUILD)/bench -Itools/bench -Itests/packet

# build/tools/bench_xdp: generator, counter and ideal redirect of the
# end-to-end benchmark (tools/bench_e2e.sh).
$(BUILD)/obj/tools/bench_xdp.o: $(BENCH_SKELS)
$(BUILD)/obj/tools/bench_xdp.o: CFLAGS += -I$(BUILD)/bench -Itools/bench

$(BUILD)/tools/bench_datapath: $(BUILD)/obj/tools/bench_datapath.o \
			       $(TEST_HELPER_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(BENCH_BPF_OBJ:.o=.d)
