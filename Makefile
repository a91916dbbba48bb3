# tscvisor — top-level build.
#   make          build/tscvisor.efi and the guest-test kernels
#   make run      boot the default demo under QEMU (installs missing packages)
#   make test     everything: host unit tests, guest tests bare and under tscvisor
#   make unit     host unit tests only (ASan + UBSan)
#   make bench    exit-path costs in instructions, QEMU SVM and Bochs VMX
#   make linux-guest  Debian's kernel and the clockcheck initramfs in build/linux/

BUILD      ?= build
CC         ?= gcc
LD         ?= ld
NASM       ?= nasm
OBJCOPY    ?= objcopy
HOSTCC     ?= gcc

EFI_INC    ?= /usr/include/efi
EFI_LIB    ?= /usr/lib
EFI_LDS    ?= $(EFI_LIB)/elf_x86_64_efi.lds
EFI_CRT0   ?= $(EFI_LIB)/crt0-efi-x86_64.o

WARN       := -Wall -Wextra -Werror
# `make V=1` shows the full commands.
Q          := $(if $(V),,@)
# Hypervisor: freestanding, PIC (gnu-efi relocates us), no red zone (we take
# interrupts on our own stack), no SSE/x87 in hypervisor code.
HV_COMMON  := $(WARN) -std=gnu11 -O2 -g -I include \
              -fpic -ffreestanding -fno-stack-protector -fno-stack-check -fshort-wchar \
              -mno-red-zone -maccumulate-outgoing-args -mgeneral-regs-only \
              -fno-strict-aliasing -DTSCVISOR_HV=1 -MMD -MP
HV_CFLAGS  := $(HV_COMMON) -I arch/x86 -I $(EFI_INC) -I $(EFI_INC)/x86_64
# -z muldefs: our memcpy/memset (vmm/lib.c, string instructions) come first
# and replace libefi's byte loops, which share an object file with symbols
# we need.
HV_LDFLAGS := -shared -Bsymbolic -nostdlib -znocombreloc -z defs -z muldefs --fatal-warnings -T $(EFI_LDS)
HOST_CFLAGS := $(WARN) -std=gnu11 -O1 -g -I include -fsanitize=address,undefined \
              -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP

# The layers (docs/architecture.md); scripts/check-layers enforces the
# include directions, and the flags below make the worst mistakes compile errors:
#   pure/      no hardware access: linked into the hypervisor and into every
#              host test. Sees include/ only: no arch/x86, no gnu-efi headers.
#   vmm/       the vendor-neutral core; vmm/dev/ the virtual devices. Sees
#              include/ only too: the machine is <tscvisor/hw.h>, which
#              arch/x86 implements.
#   arch/x86/  the hardware and the two vendor backends.
#   boot/      the UEFI entry.
PURE_SRCS  := $(sort $(wildcard pure/*.c))
HV_SRCS    := $(sort $(wildcard boot/*.c vmm/*.c vmm/dev/*.c arch/x86/*.c)) $(PURE_SRCS)
HV_ASMS    := $(sort $(wildcard arch/x86/*.asm))
HV_OBJS    := $(HV_SRCS:%.c=$(BUILD)/hv/%.o) $(HV_ASMS:%.asm=$(BUILD)/hv/%.asm.o)

UNIT_SRCS  := $(sort $(wildcard tests/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all hv guests unit test test-long run bench deps clean fuzz plot unit-bins soak linux-guest linux-shell run-linux
all: hv guests

hv: $(BUILD)/tscvisor.efi

# pure/, vmm/ and vmm/dev/: include/ only (HV_COMMON), no arch/x86 or gnu-efi.
$(BUILD)/hv/pure/%.o: pure/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_COMMON) -c $< -o $@

$(BUILD)/hv/vmm/%.o: vmm/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_COMMON) -c $< -o $@

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NASM    $<")
	$(Q)$(NASM) -f elf64 -g -I arch/x86/ -MD $@.d -MP $< -o $@

$(BUILD)/tscvisor.so: $(HV_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(HV_LDFLAGS) $(EFI_CRT0) $(HV_OBJS) -o $@ -L $(EFI_LIB) -lefi -lgnuefi \
	    $(shell $(CC) -print-libgcc-file-name)

$(BUILD)/tscvisor.efi: $(BUILD)/tscvisor.so
	@$(if $(Q),echo "  OBJCOPY $@")
	$(Q)$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
	    -j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

# Host unit tests: every test binary links all the pure sources.
$(BUILD)/tests/%: tests/%.c $(PURE_SRCS) tests/harness.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(HOSTCC) $(HOST_CFLAGS) $< $(PURE_SRCS) -o $@

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	  if $$t > $$t.log 2>&1; then echo "unit: $$(basename $$t): $$(tail -n 1 $$t.log)"; \
	  else echo "unit: $$(basename $$t) FAILED"; grep -E '^(not ok|#)' $$t.log | head -40; fail=1; fi; \
	done; exit $$fail

# libFuzzer targets of the pure parsers (not part of `make test`; docs/testing.md).
# Each target runs for FUZZ_SECONDS, or for FUZZ_RUNS executions when that is
# set, one after another on one core; the corpus is kept in build/fuzz/.
# `make fuzz FUZZ_TARGETS=fuzz_acpi` runs only the named ones. Inputs that once
# failed are kept in tests/fuzz-regress/<target>/ and run first, every time.
FUZZ_SECONDS ?= 30
FUZZ_RUNS  ?=
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:tests/%.c=$(BUILD)/fuzz/%)
FUZZ_TARGETS ?= $(FUZZ_SRCS:tests/%.c=%)
FUZZ_LIMIT := $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))

# The pure sources are compiled once for all targets (instrumented for
# coverage, not linked with libFuzzer's main), each target links them.
FUZZ_OBJS  := $(PURE_SRCS:pure/%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_CC    := clang $(WARN) -g -O1 -I include

$(BUILD)/fuzz/obj/%.o: pure/%.c $(wildcard include/tscvisor/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(BUILD)/fuzz/%: tests/%.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $< $(FUZZ_OBJS) -o $@

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
	@for t in $(FUZZ_TARGETS); do f=$(BUILD)/fuzz/$$t; mkdir -p $$f.corpus; \
	  reg=tests/fuzz-regress/$$t; [ -d $$reg ] || reg=; \
	  echo "fuzz: $$t $(FUZZ_LIMIT)"; start=$$(date +%s); \
	  if ! $$f $(FUZZ_LIMIT) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/$$t- \
	      $$f.corpus $$reg > $$f.log 2>&1; then tail -n 40 $$f.log; echo "fuzz: $$t FAILED"; exit 1; fi; \
	  end=$$(date +%s); \
	  echo "fuzz: $$t: $$(grep -E '^stat::number_of_executed_units' $$f.log | awk '{print $$2}') runs" \
	    "in $$((end - start)) s, $$(grep -E '^#[0-9]+.*(cov|DONE)' $$f.log | tail -n 1 | \
	      grep -oE 'cov: [0-9]+ ft: [0-9]+'), $$(grep -E '^stat::average_exec_per_sec' $$f.log | \
	      awk '{print $$2}') exec/s, no finding"; done

-include guest-tests/guest.mk

deps:
	@scripts/install-deps

$(BUILD)/host-tsc-khz: scripts/host-tsc-khz.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(WARN) -O2 $< -o $@

run: deps
	$(MAKE) all
	scripts/boot --emulator qemu guest-tests/configs/demo.cfg

# A stock Debian kernel and the initramfs that checks its clocks, in
# build/linux/ (scripts/linux-guest, docs/linux-guest.md).
linux-guest:
	scripts/linux-guest

# The same kernel with a busybox shell on the console, under tscvisor on
# QEMU: type into it (Ctrl-C ends QEMU; docs/linux-guest.md).
linux-shell:
	scripts/linux-shell

run-linux: deps
	$(MAKE) all linux-guest linux-shell
	scripts/boot --emulator qemu --cpus 2 --interactive guest-tests/configs/linux-shell.cfg

# Exit-path costs in instructions on both backends: QEMU icount (SVM), Bochs
# sync=none (VMX) (docs/performance.md).
bench: deps
	$(MAKE) all
	scripts/bench

# The whole matrix (docs/testing.md). JOBS=N sets the parallel emulator runs.
test: deps
	$(MAKE) all unit-bins $(BUILD)/host-tsc-khz linux-guest linux-shell
	scripts/run-tests

# Cases too slow for `make test` (minutes each; docs/testing.md): listed by
# scripts/run-tests only with TSCVISOR_LONG=1, run one at a time.
LONG_CASES ?= bochs-vmx:linux-save-restore-inboot bench:scaling
test-long: deps
	$(MAKE) all $(BUILD)/host-tsc-khz linux-guest
	TSCVISOR_LONG=1 scripts/run-tests --jobs 1 $(LONG_CASES)

unit-bins: $(UNIT_BINS)

# The random exerciser seed after seed on QEMU SVM until MINUTES have passed
# or a run fails (docs/testing.md). SEED: the first seed (default: the clock's).
MINUTES ?= 10
soak: deps
	$(MAKE) all
	scripts/soak --minutes $(MINUTES) $(if $(SEED),--seed $(SEED))

# docs/img/migration-tsc.png: guest TSC across a cross-rate migration per mode.
plot: deps
	$(MAKE) all
	scripts/plot-migration

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f -not -path '*/linux/*' 2>/dev/null)
