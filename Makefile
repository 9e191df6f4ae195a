# SPDX-License-Identifier: MIT
# swarmwatch build: bpf/*.bpf.c -> build/bpf/*.bpf.o -> build/swarmwatch.bpf.o
# (linked) -> build/swarmwatch.skel.h -> build/swarmwatch.

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BUILD ?= build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
VERSION := 0.1.0

ifeq ($(V),1)
Q =
msg = @true
else
Q = @
msg = @printf '  %-8s %s\n'
endif

CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -MMD -MP -D_GNU_SOURCE \
	  -DSW_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(BUILD)
LDLIBS := -lbpf -lelf -lz -ljansson -lmicrohttpd -lsqlite3 -lcurl -lcrypto -lyaml -lcrypt -lcap \
	  -lncursesw -lm -lpthread
# The privileged tests' own binaries stay unsanitized: their children are the
# measured workload, and the sanitizer runtime would add processes and syscalls.
HELPER_CFLAGS := $(CFLAGS)
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=$(SAN)
endif

# clang's own system include dirs, so that -target bpf finds asm/types.h etc.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Ibpf/$(ARCH) -Ibpf -Iinclude -MMD -MP $(CLANG_BPF_SYS_INCLUDES)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKEL := $(BUILD)/swarmwatch.skel.h

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o) $(BUILD)/user/web_assets.o
# The dashboard's files and uPlot (installed by make deps; the page has no charts without it).
WEB_SRCS := $(sort $(wildcard user/web/*))
UPLOT := $(wildcard tools/web/node_modules/uplot/dist/uPlot.iife.min.js \
		    tools/web/node_modules/uplot/dist/uPlot.min.css)
LIB_OBJS := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
TEST_HELPER_SRCS := $(wildcard tests/bpf/*.c)
TEST_HELPER_BINS := $(TEST_HELPER_SRCS:tests/bpf/%.c=$(BUILD)/tests/bpf/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)
BENCH_SRCS := $(wildcard bench/*/*.c)
BENCH_BPF_SRCS := $(wildcard bench/*/*.bpf.c)

.DELETE_ON_ERROR:
.PHONY: all deps run test tests fuzz fuzz-long fuzz-bins libfuzzer-bins san-bins format \
	format-check clean unpin bench-bins bench-overhead install uninstall
all: $(BUILD)/swarmwatch

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(msg) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/swarmwatch.bpf.o: $(BPF_OBJS)
	$(msg) LINK $@
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(BUILD)/swarmwatch.bpf.o
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name swarmwatch_bpf > $@.tmp && mv $@.tmp $@

# Syscall names and numbers of the build architecture, from <asm/unistd.h>.
$(BUILD)/syscall_table.h: | $(BUILD)/user
	$(msg) GEN $@
	$(Q)echo '#include <sys/syscall.h>' | $(CC) -E -dM - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/{ "\1", \2 },/p' | sort > $@.tmp
	$(Q)test -s $@.tmp && mv $@.tmp $@

$(BUILD)/user/%.o: user/%.c | $(BUILD)/user $(SKEL) $(BUILD)/syscall_table.h
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/web_assets.c: $(WEB_SRCS) $(UPLOT) tools/web-assets | $(BUILD)/user
	$(msg) GEN $@
	$(Q)tools/web-assets $@ $(WEB_SRCS) $(UPLOT)

$(BUILD)/user/web_assets.o: $(BUILD)/web_assets.c
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/swarmwatch: $(USER_OBJS)
	$(msg) LD $@
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Each unit test and fuzz target links the modules it exercises and what they need, no more,
# so that the build keeps the boundaries between modules. A test not listed links them all.
TEXT_MODS := text buf
DETECT_MODS := detect forecast blob
STORE_MODS := store gorilla log
ANOMALY_MODS := anomaly evidence rates verdict events iforest $(DETECT_MODS)
CATALOG_MODS := catalog incident apps statsd syscalls llmparse cost $(STORE_MODS) $(ANOMALY_MODS)
METRICS_MODS := metrics prom $(TEXT_MODS) $(CATALOG_MODS)
test_anomaly_MODS := api alert $(METRICS_MODS)
test_alerting_MODS := alerting values alert snapshot notify config scale blob breaker weights num log $(CATALOG_MODS) \
	$(TEXT_MODS)
test_api_MODS := api api_pools scale blob breaker weights alert cost incident snapshot $(TEXT_MODS) $(STORE_MODS) $(ANOMALY_MODS)
test_blob_MODS := blob
test_forecast_MODS := forecast blob alert buf
test_cost_MODS := costing snapshot notify $(CATALOG_MODS)
test_catalog_MODS := $(CATALOG_MODS)
test_config_MODS := config scale blob breaker weights cost num syscalls alert notify log $(TEXT_MODS)
test_detect_MODS := cmd_detect iforest log $(DETECT_MODS)
test_gorilla_MODS := gorilla
test_incident_MODS := incident
test_incidents_MODS := incidents incident alert buf snapshot $(STORE_MODS) $(ANOMALY_MODS)
test_webconfig_MODS := webconfig ratelimit
test_tenancy_MODS := tenancy $(TEXT_MODS)
test_routes_MODS := http tenancy webconfig ratelimit stream web web_assets num snapshot api api_pools config scale blob breaker weights cost alert notify log $(METRICS_MODS)
test_http_MODS := http tenancy webconfig ratelimit stream web web_assets num collector snapshot kernel overhead identity config scale blob breaker weights cost log api api_pools \
	alert notify $(METRICS_MODS)
test_identity_MODS := identity tenancy config scale blob breaker weights cost num log syscalls alert notify $(TEXT_MODS)
test_log2_MODS :=
test_num_MODS := num
test_metrics_MODS := llm config scale blob breaker weights num alert notify log $(METRICS_MODS)
test_notify_MODS := notify log
test_alert_MODS := alert buf
test_scale_MODS := scale blob breaker weights alert buf
test_values_MODS := values alert buf snapshot $(CATALOG_MODS)
test_breaker_MODS := breaker
test_scaling_MODS := scaling values forecast config scale blob breaker weights cost num syscalls alert notify \
	log buf snapshot $(CATALOG_MODS) $(TEXT_MODS)
test_weights_MODS := weights
test_prom_MODS := prom rates $(TEXT_MODS)
test_rates_MODS := rates
test_evidence_MODS := evidence
test_snapshot_MODS := snapshot
test_store_MODS := $(STORE_MODS)
test_syscalls_MODS := syscalls
test_overhead_MODS := overhead
test_text_MODS := $(TEXT_MODS)
test_statsd_MODS := statsd
test_ingest_MODS := ingest log $(CATALOG_MODS)
test_apps_MODS := $(METRICS_MODS)
test_llmparse_MODS := llmparse
test_llm_MODS := llm llmparse config scale blob breaker weights cost num syscalls alert notify log $(TEXT_MODS)
fuzz_statsd_MODS := $(CATALOG_MODS)
fuzz_config_MODS := config scale blob breaker weights cost num syscalls alert notify log $(TEXT_MODS)
fuzz_detect_MODS := cmd_detect iforest log $(DETECT_MODS)
fuzz_elf_MODS := tls kernel overhead config scale blob breaker weights cost num syscalls log alert notify $(TEXT_MODS)
fuzz_gorilla_MODS := gorilla
fuzz_cost_MODS := cost
fuzz_rule_MODS := alert scale blob breaker weights buf
fuzz_http_MODS := http tenancy webconfig ratelimit stream web web_assets num snapshot api api_pools config scale blob breaker weights cost alert notify log $(METRICS_MODS)
fuzz_http_server_MODS := $(fuzz_http_MODS)
fuzz_sniff_MODS :=
fuzz_llmparse_MODS := llmparse
fuzz_text_MODS := prom rates $(TEXT_MODS)
fuzz_webconfig_MODS := webconfig
fuzz_tenancy_MODS := tenancy $(TEXT_MODS)
mods_of = $(if $(filter undefined,$(origin $(1)_MODS)),$(LIB_OBJS),$(patsubst %,$(BUILD)/user/%.o,$(sort $($(1)_MODS))))

.SECONDEXPANSION:
$(BUILD)/tests/unit/%: tests/unit/%.c $$(call mods_of,$$*) | $(BUILD)/tests/unit
	$(msg) TEST $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(call mods_of,$*) $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/bpf/%: tests/bpf/%.c | $(BUILD)/tests/bpf
	$(msg) TEST $@
	$(Q)$(CC) $(HELPER_CFLAGS) $< -lpthread -lm -o $@

tests: $(BUILD)/swarmwatch $(UNIT_BINS) $(TEST_HELPER_BINS) $(FUZZ_BINS)

# Fuzz targets, built to replay their corpus in the normal test run.
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $$(call mods_of,$$*) | $(BUILD)/tests/fuzz
	$(msg) TEST $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay.c $(call mods_of,$*) $(LDLIBS) -o $@

# The same targets under libFuzzer, with AddressSanitizer and UBSan, in
# $(BUILD)/libfuzzer: every tests/fuzz/fuzz_*.c is one.
#   make fuzz FUZZ_TARGET=fuzz_config FUZZ_SECONDS=60   one target
#   make fuzz-long FUZZ_SECONDS=600                      all of them, one after another
# make test runs them all briefly (tests/fuzz/libfuzzer), after the normal suites.
FUZZ_BUILD := $(BUILD)/libfuzzer
FUZZ_TARGET ?= fuzz_config
FUZZ_SECONDS ?= 60
LIBFUZZER_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/fuzzer/%)

# Inside the libfuzzer build (BUILD=$(FUZZ_BUILD), CC=clang): links one target.
$(BUILD)/fuzzer/%: tests/fuzz/%.c $(LIB_OBJS) | $(BUILD)/fuzzer
	$(msg) FUZZER $@
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

libfuzzer-bins: $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzzer/%)

fuzz-bins:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang SAN=address,undefined \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" libfuzzer-bins

fuzz: fuzz-bins
	tests/fuzz/libfuzzer $(FUZZ_SECONDS) $(FUZZ_BUILD)/fuzzer/$(FUZZ_TARGET)

fuzz-long: fuzz-bins
	tests/fuzz/libfuzzer $(FUZZ_SECONDS) $(LIBFUZZER_BINS)

# The whole build again with AddressSanitizer (leaks included) and UBSan, in
# $(BUILD)/san; make test runs the unit, BPF, corpus and end-to-end suites on it too.
SAN_BUILD := $(BUILD)/san
san-bins:
	$(Q)$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) SAN=address,undefined tests

# Benchmarks: the getppid loop and the empty-program floor.
$(BUILD)/bench/floor.bpf.o: bench/overhead/floor.bpf.c | $(BUILD)/bench
	$(msg) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/floor.skel.h: $(BUILD)/bench/floor.bpf.o
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/bench/floor: bench/overhead/floor.c $(BUILD)/bench/floor.skel.h
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) -I$(BUILD)/bench $< -lbpf -lelf -lz -o $@

$(BUILD)/bench/loop: bench/overhead/loop.c | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/bench/reqbench: bench/requests/reqbench.c | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< -lssl -lcrypto -o $@

$(BUILD)/bench/llmbench: bench/llm/llmbench.c | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< -lssl -lcrypto -o $@

$(BUILD)/bench/storebench: bench/store/storebench.c $(BUILD)/user/store.o $(BUILD)/user/gorilla.o \
		$(BUILD)/user/log.o | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< $(filter %.o,$^) -lsqlite3 -lm -lpthread -o $@

$(BUILD)/bench/outboxbench: bench/alerts/outboxbench.c $(BUILD)/user/notify.o $(BUILD)/user/log.o \
		| $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< $(filter %.o,$^) -ljansson -lsqlite3 -lcurl -lcrypto -lpthread -o $@

$(BUILD)/bench/evalbench: bench/alerts/evalbench.c $(patsubst %,$(BUILD)/user/%.o,values alert buf \
		snapshot $(CATALOG_MODS)) | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< $(filter %.o,$^) $(LDLIBS) -o $@

$(BUILD)/bench/costbench: bench/cost/costbench.c $(patsubst %,$(BUILD)/user/%.o,costing snapshot \
		notify $(CATALOG_MODS)) | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< $(filter %.o,$^) $(LDLIBS) -o $@

$(BUILD)/bench/incidentbench: bench/alerts/incidentbench.c $(BUILD)/user/incident.o | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< $(filter %.o,$^) -ljansson -lm -o $@

$(BUILD)/bench/hookbench: bench/statsd/hookbench.c $(SKEL) | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) -I$(BUILD) $< -lbpf -lelf -lz -o $@

$(BUILD)/bench/falseraise: bench/anomaly/falseraise.c $(patsubst %,$(BUILD)/user/%.o,verdict \
		events iforest $(DETECT_MODS)) | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $< $(filter %.o,$^) -lm -o $@

INGEST_MODS := $(sort ingest log $(CATALOG_MODS))
$(BUILD)/bench/ingestbench: bench/statsd/ingestbench.c $(INGEST_MODS:%=$(BUILD)/user/%.o) | $(BUILD)/bench
	$(msg) CC $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench-bins: $(BUILD)/swarmwatch $(BUILD)/bench/floor $(BUILD)/bench/loop $(BUILD)/bench/reqbench \
	$(BUILD)/bench/storebench $(BUILD)/bench/ingestbench $(BUILD)/bench/hookbench \
	$(BUILD)/bench/outboxbench \
	$(BUILD)/bench/evalbench $(BUILD)/bench/llmbench $(BUILD)/bench/costbench \
	$(BUILD)/bench/incidentbench

$(BUILD)/bpf $(BUILD)/user $(BUILD)/tests/unit $(BUILD)/tests/bpf $(BUILD)/tests/fuzz $(BUILD)/bench \
$(BUILD)/fuzzer:
	$(Q)mkdir -p $@

# Installs missing Debian packages (build and test); says what is missing elsewhere.
deps:
	@tools/deps

run: deps all
	$(BUILD)/swarmwatch run $(ARGS)

# Everything CI checks: the suites, then again sanitized, then each fuzzer for a while. The
# three builds run one after the other, each with a job per CPU.
NPROC := $(shell nproc 2>/dev/null || echo 1)
test: deps
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) tests
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) san-bins
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) fuzz-bins
	@tests/run --all

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the binary, a configuration file
# that is left alone if present, the README, and a systemd unit.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
DOCDIR ?= $(PREFIX)/share/doc/swarmwatch
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: all
	install -D -m 0755 $(BUILD)/swarmwatch $(DESTDIR)$(BINDIR)/swarmwatch
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/swarmwatch
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/swarmwatch/swarmwatch.json ]; then \
		echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/swarmwatch/swarmwatch.json"; \
	else \
		$(BUILD)/swarmwatch check-config --defaults > $(BUILD)/swarmwatch.json && \
		install -m 0644 $(BUILD)/swarmwatch.json $(DESTDIR)$(SYSCONFDIR)/swarmwatch/swarmwatch.json; \
	fi
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		-e 's|@DOCDIR@|$(DOCDIR)|g' dist/swarmwatch.service.in > $(BUILD)/swarmwatch.service
	install -D -m 0644 $(BUILD)/swarmwatch.service $(DESTDIR)$(UNITDIR)/swarmwatch.service

# Leaves the configuration file, and the pinned maps (make unpin removes those).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/swarmwatch $(DESTDIR)$(UNITDIR)/swarmwatch.service
	rm -rf $(DESTDIR)$(DOCDIR)

# Removes the pinned maps and programs (kernel counters restart from zero).
unpin: all
	$(BUILD)/swarmwatch run --unpin

bench-overhead: deps bench-bins
	bench/overhead/run

FORMAT_SRCS = $(wildcard bpf/*.bpf.c bpf/*.bpf.h include/*.h user/*.c user/*.h tests/*/*.c tests/*/*.h bench/*/*.c)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: ok"

clean:
	rm -rf $(BUILD)

-include $(BPF_OBJS:.o=.d) $(USER_OBJS:.o=.d) $(UNIT_BINS:=.d) $(TEST_HELPER_BINS:=.d) \
	 $(FUZZ_BINS:=.d) $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzzer/%.d)
