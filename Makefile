# TALOS — one non-recursive Makefile.
#
#   make            build everything into build/ (installs nothing: a missing
#                   library stops it with a message that says `make deps`)
#   make deps       install the missing Debian packages (scripts/deps.sh)
#   make check      install missing packages, build, run all tests (normal + ASan/UBSan)
#   make demo       run the demo (two nodes on this machine)
#   make SAN=1 ...  the same into build-san/ with AddressSanitizer + UBSan
#   make TEE=NAME   TA images against backend NAME's enclave side (tee/NAME/enclave/),
#                   into build-NAME/ (default TEE=sim, into build/)
#   make bench      benchmarks -> bench/RESULTS.md
#   make install    PREFIX=/usr/local

# The backend TA images are built for. Every backend's host side and
# evidence format are in every build (tee/registry_host.c picks one at run
# time); a TA image holds exactly one enclave side.
TEE ?= sim
ifeq ($(wildcard tee/$(TEE)/enclave/*.c),)
$(error TEE=$(TEE): no tee/$(TEE)/enclave/*.c (backends with an enclave side: $(patsubst tee/%/enclave,%,$(wildcard tee/*/enclave))))
endif
# Another backend's TA images go to their own build folder: sharing build/
# would leave images of one backend beside objects of the other.
TEE_SUFFIX := $(if $(filter-out sim,$(TEE)),-$(TEE))

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san$(TEE_SUFFIX)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# ASan's shadow gap covers the normal arena address; sanitizer TAs use one
# in ASan's high memory. Their images differ anyway, so their measurements do.
ARENA_DEF := -DTALOS_ARENA_BASE=0x200000000000ULL
# ASan cannot link statically: sanitizer TA images are dynamic (their
# measurement then covers the TA image, not the shared C/OpenSSL libraries).
TA_LINK := -no-pie
# Test-only: the sim platform's image check (tee/sim/host/image_check.c) accepts
# these dynamic TA images in this build alone; a normal build refuses them.
SAN_DEFS := -DTALOS_SAN_DYNAMIC_TAS
else
BUILD ?= build$(TEE_SUFFIX)
SANFLAGS :=
ARENA_DEF :=
TA_LINK := -static -no-pie
SAN_DEFS :=
endif

.DEFAULT_GOAL := all
.SECONDARY:
CC ?= gcc
PREFIX ?= /usr/local
O := $(BUILD)/obj

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wpointer-arith -Wno-unused-parameter
CFLAGS ?= -O2 -g
# BLAKE3's official C implementation, as Debian ships it (librust-blake3-dev):
# the state's Merkle leaves and inner nodes (core/merkle.c, D41). Its
# objects go into libtalos_core, built with its x86-64 SIMD assembly (the
# dispatcher picks the widest the CPU has; elsewhere, the portable code).
BLAKE3_DIR ?= /usr/share/cargo/registry/blake3-1.3.1/c
BLAKE3_SRC := blake3.c blake3_dispatch.c blake3_portable.c
ifeq ($(shell uname -m),x86_64)
BLAKE3_SRC += blake3_sse2_x86-64_unix.S blake3_sse41_x86-64_unix.S blake3_avx2_x86-64_unix.S \
              blake3_avx512_x86-64_unix.S
BLAKE3_DEFS :=
else
BLAKE3_DEFS := -DBLAKE3_NO_SSE2 -DBLAKE3_NO_SSE41 -DBLAKE3_NO_AVX2 -DBLAKE3_NO_AVX512 \
               -DBLAKE3_USE_NEON=0
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) $(SAN_DEFS) $(ARENA_DEF) \
              -fvisibility=hidden -Iinclude -I. -I$(BLAKE3_DIR) -MMD -MP
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

CRYPTO_LIBS := -lssl -lcrypto
CFG_LIBS := $(shell pkg-config --libs capstone 2>/dev/null || echo -lcapstone)
# The sim platform builds the CFG of every image it launches (docs/cfg.md),
# so every host-side program links libtalos_cfg and Capstone.
# libseccomp: the sim platform names the system call a confined TA was
# killed for (docs/confinement.md).
HOST_LIBS := -ljansson -lelf $(CFG_LIBS) $(CRYPTO_LIBS) -lseccomp -lpthread

src2obj = $(patsubst %.c,$(O)/%.o,$(1))

# --- libraries ---------------------------------------------------------------
CORE_SRC := $(wildcard core/*.c)
# Backends: every tee/<name>/ with a host/ side. Each shows its sides:
# verify/ (its evidence format: linked everywhere evidence is checked, TAs
# included), host/ (the platform: linked into talosd and the CLI), enclave/
# (linked into TA images built for it) and common/ (code both sides build).
TEE_BACKENDS := $(patsubst tee/%/host,%,$(wildcard tee/*/host))
tee_side = $(wildcard $(foreach b,$(2),tee/$(b)/$(1)/*.c))
TEE_VERIFY_SRC := tee/evidence.c $(call tee_side,verify,$(TEE_BACKENDS))
TEE_HOST_SRC := tee/registry_host.c $(call tee_side,host,$(TEE_BACKENDS)) \
                $(call tee_side,common,$(TEE_BACKENDS))
TEE_ENCLAVES := $(patsubst tee/%/enclave,%,$(wildcard tee/*/enclave))
TA_SRC := $(wildcard ta/*.c)
HOST_SRC := $(wildcard node/host/*.c)
OS_SRC := $(wildcard os/*.c)

LIB_CORE := $(BUILD)/lib/libtalos_core.a
LIB_TEE_VERIFY := $(BUILD)/lib/libtalos_tee_verify.a
LIB_TEE_HOST := $(BUILD)/lib/libtalos_tee_host.a
# Every backend's enclave library is built (so that each keeps compiling);
# TA images link $(TEE)'s.
tee_enclave_lib = $(BUILD)/lib/libtalos_tee_$(1)_enclave.a
LIB_TEE_ENCLAVES := $(foreach b,$(TEE_ENCLAVES),$(call tee_enclave_lib,$(b)))
LIB_TEE_ENCLAVE := $(call tee_enclave_lib,$(TEE))
LIB_TA := $(BUILD)/lib/libtalos_ta.a
LIB_HOST := $(BUILD)/lib/libtalos_host.a
LIB_OS := $(BUILD)/lib/libtalos_os.a
# The client library (include/talos/client.h): the relying party's code,
# which trusts only the TA's verified evidence. Links the verifier, the
# core codecs, OpenSSL and jansson.
CLIENT_SRC := $(wildcard client/*.c)
LIB_CLIENT := $(BUILD)/lib/libtalos_client.a

BLAKE3_OBJS := $(patsubst %,$(O)/blake3/%.o,$(BLAKE3_SRC))
# The sources are named in the recipe, not as prerequisites: on a fresh
# machine they appear only once $(DEPS_STAMP) has installed the package.
$(O)/blake3/%.o: | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -O3 -g $(SANFLAGS) $(BLAKE3_DEFS) -fvisibility=hidden -c $(BLAKE3_DIR)/$* -o $@
$(LIB_CORE): $(call src2obj,$(CORE_SRC)) $(BLAKE3_OBJS)
$(LIB_TEE_VERIFY): $(call src2obj,$(TEE_VERIFY_SRC))
$(LIB_TEE_HOST): $(call src2obj,$(TEE_HOST_SRC))
$(foreach b,$(TEE_ENCLAVES),$(eval $(call tee_enclave_lib,$(b)): \
  $(call src2obj,$(call tee_side,enclave,$(b)) $(call tee_side,common,$(b)))))
$(LIB_TA): $(call src2obj,$(TA_SRC))
$(LIB_HOST): $(call src2obj,$(HOST_SRC))
$(LIB_OS): $(call src2obj,$(OS_SRC))
$(LIB_CLIENT): $(call src2obj,$(CLIENT_SRC))

LIBS := $(LIB_CORE) $(LIB_TEE_VERIFY) $(LIB_TEE_HOST) $(LIB_TEE_ENCLAVES) $(LIB_TA) $(LIB_HOST) \
        $(LIB_OS)

$(BUILD)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Packages. `make deps`, and the goals the README says install (check,
# demo, bench, fuzz*), run scripts/deps.sh, which apt-get installs what is
# missing; any other make installs nothing: it checks (scripts/deps.sh
# --check: one include per library header, no apt-get) and stops with a
# message that says to run `make deps`.
DEPS_INSTALL_GOALS := deps check check-san demo bench fuzz fuzz-build fuzz-smoke fuzz-seeds
DEPS_STAMP := $(BUILD)/.deps-$(if $(filter $(DEPS_INSTALL_GOALS),$(MAKECMDGOALS)),ok,checked)
$(BUILD)/.deps-ok: scripts/deps.sh
	@./scripts/deps.sh
	@mkdir -p $(@D) && touch $@
$(BUILD)/.deps-checked: scripts/deps.sh
	@CC="$(CC)" ./scripts/deps.sh --check
	@mkdir -p $(@D) && touch $@

$(O)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# CFG extraction (tools/cfg): the only user of Capstone. Linked into the
# talos CLI, the node (the sim platform computes each image's CFG digest)
# and the unit tests, never into a TA.
CFG_SRC := $(wildcard tools/cfg/*.c)
LIB_CFG := $(BUILD)/lib/libtalos_cfg.a
$(LIB_CFG): $(call src2obj,$(CFG_SRC))
# The CFG model (core/cfg: parse, lookups, flow check; no Capstone): trusted
# code, linked into every TA image (a migration target checks thread
# contexts with it, ta/flow.c) and under the extractor on the host side.
CFG_MODEL_SRC := $(wildcard core/cfg/*.c)
LIB_CFG_MODEL := $(BUILD)/lib/libtalos_cfg_model.a
$(LIB_CFG_MODEL): $(call src2obj,$(CFG_MODEL_SRC))

# --- programs ------------------------------------------------------------------
TALOSD := $(BUILD)/bin/talosd
TALOS := $(BUILD)/bin/talos
HOST_SIDE_LIBS := $(LIB_HOST) $(LIB_TEE_HOST) $(LIB_CFG) $(LIB_CFG_MODEL) $(LIB_TEE_VERIFY) $(LIB_OS) \
                  $(LIB_CORE)

$(TALOSD): $(call src2obj,$(wildcard node/talosd/*.c)) $(HOST_SIDE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(HOST_LIBS)

$(TALOS): $(call src2obj,$(wildcard cli/*.c)) $(LIB_CLIENT) $(HOST_SIDE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(HOST_LIBS)

# The runtime walks its frame pointers to record a thread's context at a
# migration point (ta/flow.c). Overridable only to measure what they cost.
TA_FP_FLAGS ?= -fno-omit-frame-pointer
$(O)/ta/%.o $(O)/faults/ta/%.o: ALL_CFLAGS += $(TA_FP_FLAGS)
# Libraries the backend's enclave side needs in a TA image, from its
# optional tee/<name>/enclave/libs.mk (sim: libseccomp).
TEE_ENCLAVE_LIBS :=
-include tee/$(TEE)/enclave/libs.mk
TA_LIBS := $(CRYPTO_LIBS) $(TEE_ENCLAVE_LIBS) -lpthread

# A TA image: the TA's objects ($(2)) + a runtime library ($(3)) + the
# enclave side of $(TEE) (or of backend $(4)), linked into $(1). Static and
# non-PIE: one self-contained file whose every code byte is measured, at
# fixed addresses (TALOS_PERSIST, arena pointers). Every TA image below is
# linked here.
define ta_link
$(1): $(2) $(3) $(LIB_CFG_MODEL) $(if $(4),$(call tee_enclave_lib,$(4)),$(LIB_TEE_ENCLAVE)) \
		$(LIB_TEE_VERIFY) $(LIB_OS) $(LIB_CORE)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_ALL) $(TA_LINK) -o $$@ $$^ $$(TA_LIBS) 2>&1 | \
	  { grep -v -e 'statically linked applications requires at runtime' -e 'in function' || true; }
	@test -x $$@
endef
ta_objs = $(call src2obj,$(wildcard $(1)/*.c))

EXAMPLES := kvstore ledger
$(foreach e,$(EXAMPLES),$(eval $(call ta_link,$(BUILD)/examples/$(e).ta,$(call ta_objs,examples/$(e)),$(LIB_TA))))
TA_IMAGES := $(foreach e,$(EXAMPLES),$(BUILD)/examples/$(e).ta)

# A TA of ordinary C code and static libraries whose heap and static data
# are state too (issue #16, D47, docs/ta-sdk.md): its objects ($(2)) and the
# static libraries it names ($(3): a path under $(BUILD), or a name found
# with the compiler's -print-file-name in the recipe, so that a fresh
# machine's make has installed it first) are linked into one object (ld -r) in which their
# malloc family calls the state heap (ta/heap.c: --wrap) and their
# writable data lies in talos_persist (ta/state.ld); $(4): libraries the
# final link also needs (-lm); $(5): the runtime library (default
# $(LIB_TA)); $(6): the partial link's options instead of both halves
# (tests only: each half left out once, tests/integration/test_sqlite.sh).
TA_STATE_WRAP := $(addprefix --wrap=,$(shell cat ta/state.wrap))
# In sanitizer builds a state object's globals get no ASan redzones or
# descriptors: they are state (copied whole, wiped when the lineage ends),
# and ASan's descriptors of them, gathered with them, would be wiped too.
STATE_SANFLAGS := $(if $(SANFLAGS),--param asan-globals=0)
define ta_link_state
$(2): ALL_CFLAGS += $(STATE_SANFLAGS)
$(O)/state/$(notdir $(1)).o: $(2) $(filter $(BUILD)/%,$(3)) ta/state.ld | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$$(LD) -r $(if $(6),$(6),-T ta/state.ld $(TA_STATE_WRAP)) -o $$@ $(2) \
	  $$(foreach l,$(3),$$(if $$(findstring /,$$(l)),$$(l),$$(shell $$(CC) -print-file-name=$$(l))))
$(1): TA_LIBS += $(4)
$(call ta_link,$(1),$(O)/state/$(notdir $(1)).o,$(if $(5),$(5),$(LIB_TA)))
endef
$(eval $(call ta_link_state,$(BUILD)/examples/sqlite.ta,$(call ta_objs,examples/sqlite),libsqlite3.a,-lm -ldl))
TA_IMAGES += $(BUILD)/examples/sqlite.ta
# The same TA with one half of the mechanism left out: SQLite's static data
# not gathered (its heap still in the arena), or its heap left to glibc (its
# data gathered). A migration of either must lose the database.
$(eval $(call ta_link_state,$(BUILD)/tests/ta/sqlite-nodata.ta,$(call ta_objs,examples/sqlite),libsqlite3.a,-lm -ldl,,$(TA_STATE_WRAP)))
$(eval $(call ta_link_state,$(BUILD)/tests/ta/sqlite-sysmalloc.ta,$(call ta_objs,examples/sqlite),libsqlite3.a,-lm -ldl,,-T ta/state.ld))

# The same runtime with fault points compiled in (tests only, ta/fault.h);
# a normal TA image has no fault code at all.
LIB_TA_FAULTS := $(BUILD)/lib/libtalos_ta_faults.a
$(LIB_TA_FAULTS): $(patsubst %.c,$(O)/faults/%.o,$(TA_SRC))
$(O)/faults/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DTALOS_FAULT_POINTS -c $< -o $@
$(eval $(call ta_link,$(BUILD)/tests/ta/kvstore-faults.ta,$(call ta_objs,examples/kvstore),$(LIB_TA_FAULTS)))

# Bench-only TA images (bench/overhead.c, never product images; under
# build/bench/ta): the same TAs with migration compiled out of the runtime
# (-DTALOS_NO_MIGRATION: ta/mig_*.c, ta/chan.c and ta/introspect.c left out,
# ta/nomig.c answers MIGRATE_* and RESUME with NOT_IMPLEMENTED), and with
# write tracking armed over the arena while serving (-DTALOS_BENCH_WTRACK,
# ta/bench_wtrack.c, switched on by TALOS_BENCH_WTRACK in the environment).
TA_NOMIG_SRC := $(filter-out ta/mig_%.c ta/chan.c ta/introspect.c ta/flow.c,$(TA_SRC))
LIB_TA_NOMIG := $(BUILD)/lib/libtalos_ta_nomig.a
LIB_TA_BENCHWT := $(BUILD)/lib/libtalos_ta_benchwt.a
$(LIB_TA_NOMIG): $(patsubst %.c,$(O)/nomig/%.o,$(TA_NOMIG_SRC))
$(LIB_TA_BENCHWT): $(patsubst %.c,$(O)/benchwt/%.o,$(TA_SRC))
$(O)/nomig/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DTALOS_NO_MIGRATION -c $< -o $@
$(O)/benchwt/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DTALOS_BENCH_WTRACK -c $< -o $@
$(foreach e,$(EXAMPLES),$(eval $(call ta_link,$(BUILD)/bench/ta/$(e)-nomig.ta,$(call ta_objs,examples/$(e)),$(LIB_TA_NOMIG))))
$(foreach e,$(EXAMPLES),$(eval $(call ta_link,$(BUILD)/bench/ta/$(e)-wtrack.ta,$(call ta_objs,examples/$(e)),$(LIB_TA_BENCHWT))))
BENCH_TA_IMAGES := $(foreach e,$(EXAMPLES),$(BUILD)/bench/ta/$(e)-nomig.ta $(BUILD)/bench/ta/$(e)-wtrack.ta)

# Bench-only images for instruction counts (bench/icount.sh, docs/measurement.md;
# sim, non-sanitizer builds): kvstore, ledger and the probe TA with the
# product runtime (<ta>-icount.ta) and without migration (<ta>-nomig-icount.ta),
# for callgrind. They differ from the product and -nomig images in two
# places, both outside the ecall path, compiled with -DTALOS_BENCH_ICOUNT:
# the sim side's confine.c skips loading the seccomp filter, which valgrind
# cannot run under (confine.c says why that is safe), and the arena lies at
# 32 GiB instead of 64 GiB (ta/entry.c maps it, enclave.c names it), where
# valgrind keeps its own memory. Every other object is the product's.
ifeq ($(TEE)$(SAN),sim0)
ICOUNT_TAS := kvstore:examples/kvstore ledger:examples/ledger probe:tests/ta/probe
ICOUNT_DEFS := -DTALOS_BENCH_ICOUNT -DTALOS_ARENA_BASE=0x800000000ULL
LIB_TEE_SIM_ICOUNT := $(call tee_enclave_lib,sim_icount)
LIB_TA_ICOUNT := $(BUILD)/lib/libtalos_ta_icount.a
LIB_TA_NOMIG_ICOUNT := $(BUILD)/lib/libtalos_ta_nomig_icount.a
$(LIB_TEE_SIM_ICOUNT): $(call src2obj,$(filter-out %/confine.c %/enclave.c,$(call tee_side,enclave,sim)) \
  $(call tee_side,common,sim)) $(O)/icount/tee/sim/enclave/confine.o $(O)/icount/tee/sim/enclave/enclave.o
$(LIB_TA_ICOUNT): $(filter-out $(O)/ta/entry.o,$(call src2obj,$(TA_SRC))) $(O)/icount/ta/entry.o
$(LIB_TA_NOMIG_ICOUNT): $(filter-out $(O)/nomig/ta/entry.o,$(patsubst %.c,$(O)/nomig/%.o,$(TA_NOMIG_SRC))) \
  $(O)/icount-nomig/ta/entry.o
# The same flags as the objects they stand in for: frame pointers where the
# product runtime has them.
$(O)/icount/ta/%.o: ALL_CFLAGS += $(TA_FP_FLAGS)
$(O)/icount/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ICOUNT_DEFS) -c $< -o $@
$(O)/icount-nomig/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ICOUNT_DEFS) -DTALOS_NO_MIGRATION -c $< -o $@
icount_name = $(word 1,$(subst :, ,$(1)))
icount_dir = $(word 2,$(subst :, ,$(1)))
$(foreach t,$(ICOUNT_TAS),$(eval $(call ta_link,$(BUILD)/bench/ta/$(call icount_name,$(t))-icount.ta,\
  $(call ta_objs,$(call icount_dir,$(t))),$(LIB_TA_ICOUNT),sim_icount)))
$(foreach t,$(ICOUNT_TAS),$(eval $(call ta_link,$(BUILD)/bench/ta/$(call icount_name,$(t))-nomig-icount.ta,\
  $(call ta_objs,$(call icount_dir,$(t))),$(LIB_TA_NOMIG_ICOUNT),sim_icount)))
BENCH_TA_IMAGES += $(foreach t,$(ICOUNT_TAS),$(BUILD)/bench/ta/$(call icount_name,$(t))-icount.ta \
  $(BUILD)/bench/ta/$(call icount_name,$(t))-nomig-icount.ta)
endif

# Test TAs (tests/ta/<name>/*.c, one folder each; a header beside them is
# shared) are built the same way.
TEST_TAS := $(notdir $(patsubst %/,%,$(wildcard tests/ta/*/)))
$(foreach t,$(TEST_TAS),$(eval $(call ta_link,$(BUILD)/tests/ta/$(t).ta,$(call ta_objs,tests/ta/$(t)),$(LIB_TA))))
TEST_TA_IMAGES := $(foreach t,$(TEST_TAS),$(BUILD)/tests/ta/$(t).ta) $(BUILD)/tests/ta/kvstore-faults.ta
# The porting template's enclave side in a TA image, in every build: a node
# must refuse to start it with NOT_IMPLEMENTED (tests/integration/test_skeleton_ta.sh).
$(eval $(call ta_link,$(BUILD)/tests/ta/kvstore-skeleton.ta,$(call ta_objs,examples/kvstore),$(LIB_TA),skeleton))
TEST_TA_IMAGES += $(BUILD)/tests/ta/kvstore-skeleton.ta
TEST_TA_IMAGES += $(BUILD)/tests/ta/sqlite-nodata.ta $(BUILD)/tests/ta/sqlite-sysmalloc.ta
# Test TAs of ordinary C code whose heap and static data are state
# (tests/ta_state/<name>/*.c, linked with ta_link_state, D47).
STATE_TEST_TAS := $(notdir $(patsubst %/,%,$(wildcard tests/ta_state/*/)))
# A static library of the tests' own, named as state by heapstress (I4).
LIB_TEST_CANARY := $(BUILD)/tests/lib/libcanary.a
$(call src2obj,tests/lib_state/canary.c): ALL_CFLAGS += $(STATE_SANFLAGS)
$(LIB_TEST_CANARY): $(call src2obj,tests/lib_state/canary.c)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^
$(foreach t,$(STATE_TEST_TAS),$(eval $(call ta_link_state,$(BUILD)/tests/ta/$(t).ta,$(call ta_objs,tests/ta_state/$(t)),$(LIB_TEST_CANARY),)))
TEST_TA_IMAGES += $(foreach t,$(STATE_TEST_TAS),$(BUILD)/tests/ta/$(t).ta)

# talosd as a hostile host (tests only, SECURITY.md T25): node/host/serve.c
# compiled with -DTALOS_HOSTILE_HOST answers the ocalls "hostile.*" with the
# malformed and racing answers of tests/host/hostile.c, and
# node/talosd/images.c runs whatever its store holds under an image's name
# (T13, T16-T19: wrong target images). The talosd that is installed has
# none of this code.
TALOSD_HOSTILE := $(BUILD)/tests/talosd-hostile
$(O)/hostile/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DTALOS_HOSTILE_HOST -c $< -o $@
$(TALOSD_HOSTILE): $(call src2obj,$(filter-out node/talosd/images.c,$(wildcard node/talosd/*.c)) \
		$(filter-out node/host/ta.c node/host/serve.c,$(HOST_SRC))) \
		$(O)/hostile/node/host/ta.o $(O)/hostile/node/host/serve.o $(O)/hostile/node/talosd/images.o \
		$(O)/hostile/tests/host/hostile.o \
		$(LIB_TEE_HOST) $(LIB_CFG) $(LIB_CFG_MODEL) $(LIB_TEE_VERIFY) $(LIB_OS) $(LIB_CORE)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(HOST_LIBS)

# --- unit tests (cmocka) -------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
# Unit tests link the host-side libraries plus the TA runtime's pure parts.
UNIT_EXTRA_OBJS := $(call src2obj,ta/arena.c ta/hostret.c ta/once.c)

$(BUILD)/tests/unit/%: $(O)/tests/unit/%.o $(UNIT_EXTRA_OBJS) $(LIB_CLIENT) $(HOST_SIDE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka $(HOST_LIBS)

# A backend's own unit tests (tee/<name>/tests/test_*.c) run with the rest
# from $(BUILD)/tests/unit/. Some #include the backend's enclave.c, to drive
# its ops in-process: they link the rest of its enclave side (sim:
# confine.c, which they never call).
TEE_UNIT_SRC := $(wildcard tee/*/tests/test_*.c)
define tee_unit_test
$(BUILD)/tests/unit/$(basename $(notdir $(1))): $(call src2obj,$(1)) $(UNIT_EXTRA_OBJS) \
		$(call src2obj,$(filter-out %/enclave.c,$(call tee_side,enclave,$(2)))) $(HOST_SIDE_LIBS)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$^ -lcmocka $$(HOST_LIBS)
endef
$(foreach t,$(TEE_UNIT_SRC),$(eval $(call tee_unit_test,$(t),$(word 2,$(subst /, ,$(t))))))
UNIT_BINS += $(foreach t,$(TEE_UNIT_SRC),$(BUILD)/tests/unit/$(basename $(notdir $(t))))

# A static, non-PIE C program that is no TA (no .note.talos): data for
# tee/sim/tests/test_image_check.c and test_cfg_store.c, built plainly (no sanitizer) in every build.
TEST_PLAIN_STATIC := $(BUILD)/tests/data/plain-static
$(TEST_PLAIN_STATIC): tests/unit/data/plain_static.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -no-pie -o $@ $<
$(BUILD)/tests/unit/test_image_check: | $(TEST_PLAIN_STATIC) $(BUILD)/examples/kvstore.ta
# tee/sim/tests/test_cfg_store.c keeps the CFG of that program (D43).
$(BUILD)/tests/unit/test_cfg_store: | $(TEST_PLAIN_STATIC)
all: $(TEST_PLAIN_STATIC)

# --- test tools (tests/tools/*.c): host-side helpers of the integration tests --
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
$(BUILD)/tests/tools/%: $(O)/tests/tools/%.o $(O)/cli/cert_json.o $(LIB_CLIENT) $(HOST_SIDE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(HOST_LIBS)
all: $(TEST_TOOLS)

# --- benchmarks ----------------------------------------------------------------
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
BENCH_LIB_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard bench/lib/*.c))
$(BUILD)/bench/%: $(O)/bench/%.o $(BENCH_LIB_OBJS) $(HOST_SIDE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(HOST_LIBS)

# --- fuzzing (tests/fuzz, docs/fuzzing.md) -----------------------------------------
# One libFuzzer harness per decoder, built with clang under ASan+UBSan into
# build-fuzz/. The product sources a harness needs are compiled again there
# by clang with coverage instrumentation: gcc objects are never reused.
#   make fuzz                   each harness FUZZ_SECONDS (default 60) on its corpus
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="evidence cfg_file"
#   make fuzz-smoke             a few seconds each + replay tests/fuzz/regress (make check)
#   make fuzz-seeds             rewrite tests/fuzz/corpus with the project's encoders
FZ := build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_TARGETS ?= wire_reader msg_header mig_records evidence cfg_file control_json call_decode \
                peer_offer host_frames host_ret mig_bodies cert image_check sess_records
FZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 $(FZ_SAN) -fsanitize=fuzzer-no-link \
             -Iinclude -I. -I$(BLAKE3_DIR) -MMD -MP
fzobj = $(patsubst %.c,$(FZ)/obj/%.o,$(1))

$(FZ)/obj/%.o: %.c | $(FZ)/.deps-ok
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CFLAGS) -c $< -o $@
$(FZ)/.deps-ok: scripts/deps.sh
	@./scripts/deps.sh
	@mkdir -p $(@D) && touch $@

$(FZ)/obj/blake3/%.o: | $(FZ)/.deps-ok
	@mkdir -p $(@D)
	$(FUZZ_CC) -O2 -g $(FZ_SAN) $(BLAKE3_DEFS) -c $(BLAKE3_DIR)/$* -o $@
FZ_CORE := $(call fzobj,$(CORE_SRC)) $(patsubst %,$(FZ)/obj/blake3/%.o,$(BLAKE3_SRC))
FZ_OS := $(call fzobj,$(OS_SRC)) $(FZ_CORE)
FZ_VERIFY := $(call fzobj,$(TEE_VERIFY_SRC)) $(FZ_CORE)
FZ_CFG := $(call fzobj,core/cfg/model.c core/cfg/serial.c tools/cfg/json.c) $(FZ_CORE)
# talosd without its main.c (the harness defines `node`), and all it links.
FZ_NODE := $(call fzobj,$(filter-out node/talosd/main.c,$(wildcard node/talosd/*.c)) \
             $(HOST_SRC) $(TEE_HOST_SRC) $(CFG_SRC) $(CFG_MODEL_SRC) $(TEE_VERIFY_SRC) $(OS_SRC)) \
             $(FZ_CORE)

FZ_DEPS_wire_reader := $(FZ_CORE)
FZ_DEPS_msg_header := $(FZ_OS)
FZ_DEPS_mig_records := $(FZ_CORE)
FZ_DEPS_evidence := $(FZ_VERIFY)
FZ_DEPS_cfg_file := $(FZ_CFG)
FZ_DEPS_control_json := $(FZ_NODE)
FZ_DEPS_call_decode := $(call fzobj,ta/dispatch.c) $(FZ_OS)
FZ_DEPS_peer_offer := $(call fzobj,node/talosd/peerproto.c node/talosd/peerlink.c) $(FZ_OS)
FZ_DEPS_host_frames := $(call fzobj,$(HOST_SRC) node/talosd/ocalls.c ta/hostret.c $(TEE_HOST_SRC) $(CFG_SRC) \
                         $(CFG_MODEL_SRC) $(TEE_VERIFY_SRC) $(OS_SRC)) $(FZ_CORE)
FZ_DEPS_host_ret := $(call fzobj,ta/hostret.c) $(FZ_CORE)
FZ_DEPS_mig_bodies := $(FZ_CORE)
FZ_DEPS_cert := $(FZ_CORE)
FZ_DEPS_sess_records := $(FZ_CORE)
FZ_DEPS_image_check := $(call fzobj,tee/sim/host/image_check.c) $(FZ_CORE)

# A harness is tests/fuzz/fuzz_<t>.c, or, for a backend's own format,
# tee/<name>/tests/fuzz_<t>.c (sim: evidence, image_check); the corpus is
# tests/fuzz/corpus/<t> either way.
fz_harness_src = $(firstword $(wildcard tests/fuzz/fuzz_$(1).c tee/*/tests/fuzz_$(1).c))
define fuzz_harness
$(FZ)/fuzz_$(1): $(call fzobj,$(call fz_harness_src,$(1))) $(FZ_DEPS_$(1))
	$$(FUZZ_CC) -fsanitize=fuzzer $(FZ_SAN) -o $$@ $$^ $(HOST_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_harness,$(t))))
FUZZ_BINS := $(foreach t,$(FUZZ_TARGETS),$(FZ)/fuzz_$(t))

$(FZ)/gen_seeds: $(FZ)/obj/tests/fuzz/gen_seeds.o $(call fzobj,node/talosd/peerproto.c node/talosd/peerlink.c) \
		$(call fzobj,$(TEE_VERIFY_SRC) core/cfg/model.c core/cfg/serial.c $(OS_SRC)) $(FZ_CORE)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link $(FZ_SAN) -o $@ $^ $(HOST_LIBS)

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-seeds clean-fuzz
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@FZ=$(FZ) FUZZ_JOBS=$(FUZZ_JOBS) ./tests/fuzz/run.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke: fuzz-build
	@FZ=$(FZ) FUZZ_JOBS=$(FUZZ_JOBS) ./tests/fuzz/run.sh smoke 8 $(FUZZ_TARGETS)
# Seeds of a backend's own formats: its tee/<name>/tests/gen_seeds.c.
FZ_GEN_SEEDS_TEE := $(patsubst tee/%/tests/gen_seeds.c,$(FZ)/gen_seeds_%,$(wildcard tee/*/tests/gen_seeds.c))
$(FZ)/gen_seeds_%: $(FZ)/obj/tee/%/tests/gen_seeds.o $(call fzobj,$(TEE_VERIFY_SRC)) $(FZ_CORE)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link $(FZ_SAN) -o $@ $^ $(HOST_LIBS)

fuzz-seeds: $(FZ)/gen_seeds $(FZ_GEN_SEEDS_TEE)
	$(FZ)/gen_seeds tests/fuzz/corpus
	$(foreach g,$(FZ_GEN_SEEDS_TEE),$(g) tests/fuzz/corpus &&) true
clean-fuzz:
	rm -rf $(FZ)
clean: clean-fuzz

-include $(shell find $(FZ)/obj -name '*.d' 2>/dev/null)

# --- top-level targets -------------------------------------------------------------
.PHONY: all deps check check-unit check-integration check-san demo bench install clean format
all: $(TALOSD) $(TALOS) $(LIB_TEE_ENCLAVES) $(TA_IMAGES) $(TEST_TA_IMAGES) $(TALOSD_HOSTILE) $(UNIT_BINS) $(BENCH_BINS) $(BENCH_TA_IMAGES)

deps:
	@./scripts/deps.sh
	@mkdir -p $(BUILD) && touch $(BUILD)/.deps-ok

check-unit: all
	@BUILD=$(BUILD) ./tests/run-unit.sh

check-integration: all
	@BUILD=$(BUILD) ./tests/run-integration.sh

# `make check`: everything, then everything again under ASan+UBSan.
check: all
	@BUILD=$(BUILD) ./tests/run-unit.sh
	@$(MAKE) --no-print-directory fuzz-smoke
	@BUILD=$(BUILD) ./tests/run-integration.sh
ifneq ($(SAN),1)
	@$(MAKE) --no-print-directory SAN=1 check-san
endif

check-san: all
	@BUILD=$(BUILD) SAN=1 ./tests/run-unit.sh
	@BUILD=$(BUILD) SAN=1 ./tests/run-integration.sh

demo: all
	@BUILD=$(BUILD) ./scripts/demo.sh

bench: all
	@BUILD=$(BUILD) ./bench/run.sh

# The TA SDK too (docs/ta-sdk.md), and the client library
# (include/talos/client.h, pkg-config talos-client): headers, the runtime and sim enclave
# libraries, the state link's script and wrap list, talos-ta-link and a
# relocatable pkg-config file.
SDK_LIBS := $(LIB_TA) $(LIB_CFG_MODEL) $(call tee_enclave_lib,sim) $(LIB_TEE_VERIFY) $(LIB_OS) $(LIB_CORE) \
            $(LIB_CLIENT)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/include/talos $(DESTDIR)$(PREFIX)/lib/talos $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/talos
	install -m 755 $(TALOSD) $(TALOS) scripts/talos-ta-link $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/talos.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/talosd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 include/talos/*.h $(DESTDIR)$(PREFIX)/include/talos/
	install -m 644 $(SDK_LIBS) $(DESTDIR)$(PREFIX)/lib/talos/
	install -m 644 ta/state.ld ta/state.wrap $(DESTDIR)$(PREFIX)/share/talos/
	install -m 644 scripts/talos-ta.pc scripts/talos-client.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san $(foreach b,$(filter-out sim,$(TEE_ENCLAVES)),build-$(b) build-san-$(b))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
