# ngx_logistics_module build, test and demo entry points.
#
#   make             module (build/ngx_http_logistics_module.so) and CLI
#   make demo        run the gateway with the sample policies on :8080
#   make test        install what is missing, build, run the whole suite
#   make test-asan   the suite with ASan + UBSan builds of the module
#   make test-valgrind  the suite under valgrind memcheck
#   make bench       every bench/run scenario and a summary table
#                    (BENCH_BASE=main: main's module measured alongside)
#
# The module is built against the distro nginx with the headers and
# configure script of Debian's nginx-dev, copied into build/ so nothing is
# ever written under /usr/share/nginx/src.

CC ?= cc
NGINX_DEV = /usr/share/nginx/src
BUILD = build
MODULE = ngx_http_logistics_module.so

CORE_SRCS = $(wildcard ngx_logistics_module/core/*.c)
CORE_HDRS = $(wildcard ngx_logistics_module/core/*.h)
GLUE_SRCS = $(wildcard ngx_logistics_module/*.c ngx_logistics_module/*.h)

WARN = -Wall -Wextra -Werror -Wno-unused-parameter -Wpointer-arith
CORE_CFLAGS = -std=gnu99 -O2 -g $(WARN) -Ingx_logistics_module/core
CORE_LIBS = -ljansson -lcrypto -lpcre2-8 -lhiredis

# Extra flags for the module and the CLI (sanitizer builds set these).
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=

DEBIAN_PACKAGES = nginx nginx-dev libjansson-dev libhiredis-dev \
	libssl-dev libpcre2-dev zlib1g-dev redis-server redis-sentinel wrk \
	valgrind clang libclang-rt-14-dev curl perl openssl prometheus chromium

# services some packages start on install; the tests run their own
# instances on free loopback ports
DEBIAN_SERVICES = prometheus prometheus-node-exporter redis-sentinel

UNIT_TESTS = $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/test_*.c))
FUZZ_TARGETS = $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

.PHONY: all module cli unit fuzz-build fuzz deps oauth-deps test test-asan \
	test-valgrind demo bench bench-base clean conformance

all: module cli

module: $(BUILD)/$(MODULE)

cli: $(BUILD)/logistics-policy

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing \
	        >/dev/null || exit 1; \
	    for s in $(DEBIAN_SERVICES); do \
	        if [ -d /run/systemd/system ]; then \
	            systemctl disable --now $$s >/dev/null 2>&1 || true; \
	        elif [ -x /etc/init.d/$$s ]; then \
	            /etc/init.d/$$s stop >/dev/null 2>&1 || true; \
	            update-rc.d $$s disable >/dev/null 2>&1 || true; \
	        fi; \
	    done; \
	fi

# configure once per build directory; "config" changes force a re-run.
$(BUILD)/%/objs/Makefile: config
	rm -rf $(BUILD)/$*
	mkdir -p $(BUILD)/$*
	cp -r $(NGINX_DEV)/. $(BUILD)/$*/
	. $(NGINX_DEV)/conf_flags && cd $(BUILD)/$* && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc="$(CC)" \
	        --with-cc-opt="-Wall -Wextra -Wno-unused-parameter -Werror $(EXTRA_CFLAGS)" \
	        --with-ld-opt="$(EXTRA_LDFLAGS)" \
	        --add-dynamic-module=$(CURDIR) >configure.log 2>&1 \
	    || { tail -20 configure.log; exit 1; }

SHELL = /bin/bash

# The status page is compiled in as a C string: "config" generates it at
# configure time (objs/addon/logistics_status/), and this refreshes it
# when the page changes, without configuring again.
PAGE = ngx_logistics_module/status/status.html
EMBED = ngx_logistics_module/status/embed.sh
PAGE_C = addon/logistics_status/lg_metrics_page.c

$(BUILD)/$(MODULE): $(BUILD)/nginx/objs/Makefile $(CORE_SRCS) $(CORE_HDRS) \
		$(GLUE_SRCS) $(PAGE) $(EMBED)
	sh $(EMBED) $(PAGE) > $(BUILD)/nginx/objs/$(PAGE_C).tmp
	cmp -s $(BUILD)/nginx/objs/$(PAGE_C).tmp $(BUILD)/nginx/objs/$(PAGE_C) \
	    && rm $(BUILD)/nginx/objs/$(PAGE_C).tmp \
	    || mv $(BUILD)/nginx/objs/$(PAGE_C).tmp $(BUILD)/nginx/objs/$(PAGE_C)
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	cp $(BUILD)/nginx/objs/$(MODULE) $@.tmp && mv -f $@.tmp $@

CLI_SRCS = $(wildcard ngx_logistics_module/cli/*.c)
CLI_HDRS = $(wildcard ngx_logistics_module/cli/*.h)

$(BUILD)/logistics-policy: $(CLI_SRCS) $(CLI_HDRS) $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CORE_CFLAGS) $(EXTRA_CFLAGS) -Ingx_logistics_module/cli -o $@ \
	    $(CLI_SRCS) $(CORE_SRCS) $(EXTRA_LDFLAGS) $(CORE_LIBS) -lssl

$(BUILD)/unit/%: t/unit/%.c t/unit/unit.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) $(EXTRA_CFLAGS) -It/unit -pthread -o $@ $< \
	    $(CORE_SRCS) $(EXTRA_LDFLAGS) $(CORE_LIBS)

# the page as the module holds it, for t/71-metrics-harness.t
$(BUILD)/gen/lg_metrics_page.c: $(PAGE) $(EMBED)
	@mkdir -p $(BUILD)/gen
	sh $(EMBED) $(PAGE) > $@.tmp && mv $@.tmp $@

$(BUILD)/unit/page_dump: t/unit/page_dump.c $(BUILD)/gen/lg_metrics_page.c \
		$(CORE_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CORE_CFLAGS) $(EXTRA_CFLAGS) -o $@ t/unit/page_dump.c \
	    $(BUILD)/gen/lg_metrics_page.c $(EXTRA_LDFLAGS)

unit: $(UNIT_TESTS) $(BUILD)/unit/page_dump

# The JSON Schema Test Suite is not vendored (nor reachable from the build
# machine), so conformance is a separate run against a checkout of
# github.com/json-schema-org/JSON-Schema-Test-Suite: the required tests of
# draft 2020-12 and draft-07, remote references aside.
$(BUILD)/conformance: t/conformance/run.c $(CORE_SRCS) $(CORE_HDRS)
	$(CC) $(CORE_CFLAGS) -o $@ t/conformance/run.c $(CORE_SRCS) $(CORE_LIBS)

conformance: $(BUILD)/conformance
	@test -d "$(SUITE)/tests" \
	    || { echo "usage: make conformance SUITE=DIR (a suite checkout)"; \
	         exit 2; }
	@rc=0; \
	$(BUILD)/conformance $$(ls $(SUITE)/tests/draft2020-12/*.json \
	    | grep -v /refRemote.json) || rc=1; \
	$(BUILD)/conformance --draft7 $$(ls $(SUITE)/tests/draft7/*.json \
	    | grep -v /refRemote.json) || rc=1; \
	exit $$rc

# libFuzzer targets (clang): "make fuzz" runs each for FUZZ_SECONDS on a
# copy of its seed corpus; "make test" runs them briefly (t/03-fuzz.t).
$(BUILD)/fuzz/%: fuzz/%.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -Ingx_logistics_module/core -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

fuzz-build: $(FUZZ_TARGETS)

fuzz: deps fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    name=$$(basename $$t); corpus=$(BUILD)/fuzz/corpus-$$name; \
	    mkdir -p $$corpus; cp fuzz/corpus/$${name#fuzz_}/* $$corpus/; \
	    echo "== $$name ($(FUZZ_SECONDS)s)"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        $$corpus || exit 1; \
	done

# t/oauth: the OAuth server (oidc-provider) and signer (jose) of the JWT
# tests, pinned by t/oauth/package-lock.json
oauth-deps:
	npm ci --prefix t/oauth --no-audit --no-fund --loglevel=error

test: deps all unit fuzz-build oauth-deps
	prove -I t/lib t/

# Sanitizer build: module and core with ASan + UBSan, nginx started with
# libasan preloaded (the distro binary is not instrumented).
ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined

test-asan: deps oauth-deps fuzz-build
	$(MAKE) BUILD=$(BUILD)/asan EXTRA_CFLAGS="$(ASAN_FLAGS)" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit
	LG_MODULE=$(CURDIR)/$(BUILD)/asan/$(MODULE) \
	LG_CLI=$(CURDIR)/$(BUILD)/asan/logistics-policy \
	LG_UNIT_DIR=$(CURDIR)/$(BUILD)/asan/unit \
	LG_PRELOAD="$$($(CC) -print-file-name=libasan.so) \
	    $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:log_path=stderr \
	UBSAN_OPTIONS=print_stacktrace=1 \
	    prove -I t/lib t/

# valgrind memcheck: nginx with its master (so reloads are covered too)
test-valgrind: deps all unit fuzz-build oauth-deps
	LG_VALGRIND=master prove -I t/lib t/

demo: deps all
	demo/run

# Every scenario (wrk against plain proxy_pass and the gateway), ending on
# one summary table. BENCH_BASE=REF (e.g. main) also measures the module of
# that commit in the same rounds, BENCH_CALLGRIND=1 adds instruction counts
# per request; the other BENCH_* variables are described in bench/run.
# One scenario: bench/run NAME (bench/run --list).
bench: deps all oauth-deps
	bench/run --selftest && bench/run --all

# the module of BENCH_BASE (default main) under build/bench-base/<commit>/,
# built with that commit's own Makefile (bench/run --base REF does this too)
bench-base:
	bench/build-base $(or $(BENCH_BASE),main)

clean:
	rm -rf $(BUILD)
