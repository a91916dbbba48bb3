# guest.mk — guest-test kernels, included by the top-level Makefile.
#
# Every guest-tests/NAME.c is one test: linked with guest-tests/lib into
#   $(BUILD)/guest-tests/NAME.elf64   ELF64 at 1 MiB (for loaders that take it)
#   $(BUILD)/guest-tests/NAME.elf     the same as ELF32, which QEMU's
#                                     multiboot loader (-kernel) requires
# `make guests` builds them all; GUEST_TESTS lists the names.

GUEST_SRC_DIR := guest-tests
GUEST_OUT     := $(BUILD)/guest-tests
GUEST_TESTS   := $(sort $(basename $(notdir $(wildcard $(GUEST_SRC_DIR)/*.c))))

GUEST_LIB_SRCS := $(sort $(wildcard $(GUEST_SRC_DIR)/lib/*.c))
GUEST_LIB_ASMS := $(sort $(wildcard $(GUEST_SRC_DIR)/lib/*.asm))
# pure/ sources the guest library shares with the hypervisor (pure C, tested
# on the host): the formatter behind the guests' printf.
GUEST_PURE_SRCS := pure/format.c
GUEST_LIB_OBJS := $(GUEST_LIB_SRCS:$(GUEST_SRC_DIR)/%.c=$(GUEST_OUT)/obj/%.o) \
                  $(GUEST_LIB_ASMS:$(GUEST_SRC_DIR)/%.asm=$(GUEST_OUT)/obj/%.asm.o) \
                  $(GUEST_PURE_SRCS:%.c=$(GUEST_OUT)/obj/%.o)
GUEST_TEST_OBJS := $(GUEST_TESTS:%=$(GUEST_OUT)/obj/%.o)
GUEST_LDS     := $(GUEST_SRC_DIR)/lib/link.ld

# 64-bit, freestanding, non-PIC (linked at a fixed address below 2 GiB),
# no red zone (exceptions push on the same stack), no SSE/x87 (never
# enabled). No loop-to-memset rewriting: string.c implements memset.
GUEST_CFLAGS := -Wall -Wextra -Werror -std=gnu11 -O2 -g -m64 -I $(GUEST_SRC_DIR)/lib \
                -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-stack-check \
                -mno-red-zone -mgeneral-regs-only -mcmodel=small \
                -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
                -fno-strict-aliasing -MMD -MP
GUEST_LDFLAGS := -m elf_x86_64 -nostdlib -static -z max-page-size=0x1000 \
                 -z noexecstack --build-id=none -T $(GUEST_LDS)

.PHONY: guests
guests: $(GUEST_TESTS:%=$(GUEST_OUT)/%.elf) $(GUEST_TESTS:%=$(GUEST_OUT)/%.elf64)

# Keep the objects (reached only through pattern rules, make would delete them).
.SECONDARY: $(GUEST_TEST_OBJS) $(GUEST_LIB_OBJS)

$(GUEST_OUT)/obj/%.o: $(GUEST_SRC_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

# The shared pure sources, and the library file that uses them, see include/.
$(GUEST_OUT)/obj/pure/%.o: pure/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -I include -c $< -o $@

$(GUEST_OUT)/obj/lib/printf.o: GUEST_CFLAGS += -I include

$(GUEST_OUT)/obj/%.asm.o: $(GUEST_SRC_DIR)/%.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -MD $(@:.o=.d) -MP $< -o $@

$(GUEST_OUT)/%.elf64: $(GUEST_OUT)/obj/%.o $(GUEST_LIB_OBJS) $(GUEST_LDS)
	$(LD) $(GUEST_LDFLAGS) $< $(GUEST_LIB_OBJS) -o $@

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/%.elf64
	$(OBJCOPY) -O elf32-i386 --strip-debug $< $@
