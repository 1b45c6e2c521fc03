# Lamina - top-level Makefile: the one entry point.
#
#   make            build everything into build/ (B=DIR: into DIR instead)
#   make deps       install what is missing (apt-get, Xen headers from libxen-dev)
#   make run        the tour: `lamina up`, create a PV and an unmodified guest
#                   from examples/*.cfg, list, consoles, pause/unpause,
#                   destroy, `lamina down` (tools/lamina-tour)
#   make run-modules boot Lamina with dom0, a PV domU and an unmodified domU
#                   given as boot modules (no toolstack), side by side
#   make run-native boot the native guest kernel directly on QEMU
#   make test       host unit tests (cmocka) + QEMU scenario tests
#   make port-stat  size of the PV port against the whole guest kernel
#   make bench      microbenchmarks: native, unmodified, pv, xen-pv; instruction counts (icount) and time (build/bench/)
#   make bench-scale how many minimal PV domains 8 GiB holds, create time at 1/10/100/1000
#   make fuzz       host fuzzers (libFuzzer), FUZZ_SECONDS each (tests/fuzz/)
#   make gdb        boot Lamina + PV dom0 stopped under QEMU's gdb stub and attach
#                   gdb with both symbol files (tools/lamina-gdb; GDB_PORT=1234)
#   make help       this list
#
# Variables: LAMINA_ACCEL=tcg|kvm (default tcg), QEMU_MEM (MiB, default 512),
# DOM0=path DOM0_ARGS="..." to boot any Xen PV kernel as dom0, V=1 for the
# full build commands, B=DIR to build into DIR (tools/ and tests/ follow it
# through LAMINA_BUILD).

B        := build
export LAMINA_BUILD := $(B)
# Quiet build: one line per step (`  CC  hypervisor/common/domain.c`);
# V=1 prints the full commands instead.
V        ?= 0
ifeq ($(V),1)
Q        :=
quiet     =
else
Q        := @
quiet     = printf '  %-7s %s\n' '$(1)' '$(2)';
endif
GCC_INC  := $(shell gcc -print-file-name=include)
XEN_INC  := $(B)/xen-include
DEPS     := $(B)/.deps-done

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
FREE     := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -fno-builtin \
            -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
            -fno-tree-loop-distribute-patterns -nostdinc -isystem $(GCC_INC) $(WARN)

# ---- hypervisor ---------------------------------------------------------
# -mpreferred-stack-boundary=3 (as Linux): entry.S calls C on 8-byte
# aligned stacks; without SSE nothing needs 16.
HV_CFLAGS := $(FREE) -fpie -fvisibility=hidden -mpreferred-stack-boundary=3 \
             -Ihypervisor -Ipv-abi/include -Itoolstack/builder -I$(XEN_INC)
HV_SRCS  := $(sort $(shell find hypervisor \( -name "*.c" -o -name "*.S" \) ! -name asm-offsets.c)) \
            $(sort $(wildcard toolstack/builder/*.c))
# Structure offsets for the assembly, generated from C (asm-offsets.c).
HV_GEN   := $(B)/hv/include
HV_ASM_OFFSETS := $(HV_GEN)/asm-offsets.h
HV_OBJS  := $(patsubst %,$(B)/hv/%.o,$(HV_SRCS))

# ---- guest kernel and the PV ABI library --------------------------------
G_CFLAGS := $(FREE) -mcmodel=kernel -fno-pic -Iguest-port/include -Ipv-abi/include -I$(XEN_INC)
G_CORE   := $(sort $(wildcard guest-port/core/*.c guest-port/core/*.S))
G_NATIVE := $(sort $(wildcard guest-port/native/*.c guest-port/native/*.S))
G_PV     := $(sort $(wildcard guest-port/pv/*.c guest-port/pv/*.S))
# hostile front-ends the tests run inside the PV guest kernel (disk=hostile)
G_TESTS  := $(sort $(wildcard tests/guest/*.c))
PVLIB    := $(sort $(wildcard pv-abi/lib/*.c pv-abi/lib/*.S))
# The PV kernel's network stack: lwIP 2.1.3 from Debian's source package
# (make deps unpacks it into $(B)/lwip) and its port, guest-port/net.
LWIP     := $(B)/lwip/src
# Named, not found: a fresh clone has no $(B)/lwip until make deps ran.
LWIP_CORE := def inet_chksum init ip mem memp netif pbuf raw stats sys tcp tcp_in tcp_out \
             timeouts udp ipv4/dhcp ipv4/etharp ipv4/icmp ipv4/ip4 ipv4/ip4_addr ipv4/ip4_frag
LWIP_SRCS := $(patsubst %,$(LWIP)/core/%.c,$(LWIP_CORE)) $(LWIP)/netif/ethernet.c \
             $(LWIP)/apps/http/httpd.c $(LWIP)/apps/http/fs.c $(LWIP)/apps/lwiperf/lwiperf.c
G_NET    := $(sort $(wildcard guest-port/net/*.c))
NET_CFLAGS := -Iguest-port/net/include -Iguest-port/net -Iguest-port/pv -I$(LWIP)/include
T_HOSTILE:= $(sort $(wildcard tests/hostile/*.c tests/hostile/*.S))
# dom0's control plane, linked into the PV kernel only: the shared domain
# builder, the libxenctrl subset, the agent and the back-end drivers.
G_DOM0   := $(sort $(wildcard toolstack/builder/*.c toolstack/libxc/*.c toolstack/agent/*.c \
                              backend-drivers/*/*.c))
G_CFLAGS += -Itoolstack/builder -Itoolstack/libxc -Itoolstack/agent \
            -Ibackend-drivers/xenstore -Ibackend-drivers/console -Ibackend-drivers/block -Ibackend-drivers/xenbus \
            -Ibackend-drivers/virtio -Ibackend-drivers/net -Iguest-port/net

gobjs = $(patsubst %,$(B)/g/%.o,$(1))

CLI_SRCS := $(sort $(wildcard toolstack/cli/*.c))
CTL_SRCS := $(wildcard toolstack/*/*.[ch] backend-drivers/*/*.[ch])

TARGETS  := $(B)/lamina.elf $(B)/guest-pv.elf $(B)/guest-native.elf
ifneq ($(CLI_SRCS),)
TARGETS  += $(B)/lamina
endif
ifneq ($(T_HOSTILE),)
TARGETS  += $(B)/hostile-pv.elf
endif

# ---- host unit tests ------------------------------------------------------
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRCS))
HOST_CFLAGS := -std=gnu11 -O1 -g -DLAMINA_HOST_TEST -fsanitize=address,undefined \
               -fno-omit-frame-pointer $(WARN) -Ihypervisor -Ipv-abi/include \
               -Itoolstack/builder -I$(XEN_INC) -Itests/unit

.PHONY: all deps run run-modules run-native test unit port-stat clean help gdb bench bench-scale
all: $(TARGETS) $(UNIT_BINS)

deps: $(DEPS)
$(DEPS): tools/deps.sh
	sh tools/deps.sh $(B)

$(B)/hv/%.c.o: %.c $(DEPS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,CC,$<)gcc $(HV_CFLAGS) -MMD -c $< -o $@
$(B)/hv/%.S.o: %.S $(DEPS) $(HV_ASM_OFFSETS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,AS,$<)gcc $(HV_CFLAGS) -I$(HV_GEN) -D__ASSEMBLY__ -MMD -c $< -o $@
$(HV_ASM_OFFSETS): hypervisor/arch/x86/asm-offsets.c $(DEPS) $(wildcard hypervisor/*/*.h hypervisor/arch/x86/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,GEN,$@)gcc $(HV_CFLAGS) -S -o $(B)/hv/asm-offsets.s $<
	$(Q)sed -n 's/.*"->\([A-Za-z0-9_]*\) \([-0-9]*\)".*/#define \1 \2/p' $(B)/hv/asm-offsets.s >$@.tmp
	$(Q)mv $@.tmp $@

$(B)/lamina.elf64: $(HV_OBJS) hypervisor/arch/x86/lamina.ld
	$(Q)$(call quiet,LD,$@)ld -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T hypervisor/arch/x86/lamina.ld -o $@ $(HV_OBJS)
# QEMU's multiboot loader takes ELF32 only.
$(B)/lamina.elf: $(B)/lamina.elf64
	$(Q)$(call quiet,OBJCOPY,$@)objcopy -O elf32-i386 $< $@

$(B)/g/%.c.o: %.c $(DEPS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,CC,$<)gcc $(G_CFLAGS) -MMD -c $< -o $@
# lwIP itself: third-party code, built with its own warnings allowed.
$(LWIP_SRCS): $(DEPS)
$(B)/g/lwip/%.c.o: $(LWIP)/%.c $(DEPS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,CC,lwip/$*.c)gcc $(filter-out -Werror -Wextra,$(G_CFLAGS)) -Wno-address $(NET_CFLAGS) -MMD -c $< -o $@
$(B)/g/guest-port/net/%.c.o: guest-port/net/%.c $(DEPS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,CC,$<)gcc $(G_CFLAGS) $(NET_CFLAGS) -MMD -c $< -o $@
$(B)/g/%.S.o: %.S $(DEPS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,AS,$<)gcc $(G_CFLAGS) -D__ASSEMBLY__ -MMD -c $< -o $@

$(B)/guest-native.elf64: $(call gobjs,$(G_CORE) $(G_NATIVE)) guest-port/native/native.ld
	$(Q)$(call quiet,LD,$@)ld -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T guest-port/native/native.ld -o $@ $(call gobjs,$(G_CORE) $(G_NATIVE))
$(B)/guest-native.elf: $(B)/guest-native.elf64
	$(Q)$(call quiet,OBJCOPY,$@)objcopy -O elf32-i386 $< $@
LWIP_OBJS = $(patsubst $(LWIP)/%,$(B)/g/lwip/%.o,$(LWIP_SRCS))
PV_OBJS   = $(call gobjs,$(G_CORE) $(G_PV) $(PVLIB) $(G_NET) $(G_DOM0) $(G_TESTS)) $(LWIP_OBJS)
$(B)/guest-pv.elf: $(PV_OBJS) guest-port/pv/pv.ld
	$(Q)$(call quiet,LD,$@)ld -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T guest-port/pv/pv.ld -o $@ $(PV_OBJS)
$(B)/hostile-pv.elf: $(call gobjs,$(T_HOSTILE) $(PVLIB)) tests/hostile/hostile.ld
	$(Q)$(call quiet,LD,$@)ld -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T tests/hostile/hostile.ld -o $@ $(call gobjs,$(T_HOSTILE) $(PVLIB))

$(B)/unit/%: tests/unit/%.c $(DEPS) $(wildcard tests/unit/*.h hypervisor/*/*.h hypervisor/arch/x86/*.h) $(HV_SRCS) $(CTL_SRCS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,HOSTCC,$@)gcc $(HOST_CFLAGS) $< -o $@ -lcmocka

unit: $(UNIT_BINS)

# ---- the host CLI `lamina` (toolstack/cli), a host program ---------------
$(B)/lamina: $(CLI_SRCS) $(wildcard toolstack/cli/*.h toolstack/common/*.h) $(DEPS)
	@mkdir -p $(dir $@)
	$(Q)$(call quiet,HOSTCC,$@)gcc -std=gnu11 -O2 -g $(WARN) -Itoolstack/cli -Ipv-abi/include -I$(XEN_INC) -o $@ $(CLI_SRCS) -lz

# ---- running --------------------------------------------------------------
run: all
	tools/lamina-tour
run-modules: all
	tools/lamina-boot --dom0 $(or $(DOM0),$(B)/guest-pv.elf) $(if $(DOM0_ARGS),--dom0-args "$(DOM0_ARGS)") \
	    $(if $(DOM0),,--domu $(B)/guest-pv.elf --domu $(B)/guest-native.elf)
run-native: all
	tools/native-boot $(B)/guest-native.elf

test: all
	tests/run.sh

port-stat:
	@tools/port-stat.sh

help:
	@sed -n '/^#   make/,/^# full build/s/^# \{0,1\}//p' Makefile

gdb: all
	tools/lamina-gdb $(if $(DOM0_ARGS),--dom0-args "$(DOM0_ARGS)")

.PHONY: bench
bench: all
	tools/lamina-bench
	tools/lamina-bench-io
	tools/lamina-bench-net
	tools/lamina-bench-save
	tools/lamina-bench-migrate

bench-scale: all
	tools/lamina-bench-scale

clean:
	rm -rf $(B)/hv $(B)/g $(B)/unit $(B)/*.elf $(B)/*.elf64 $(B)/test-logs

include tests/fuzz/fuzz.mk

-include $(shell find $(B)/hv $(B)/g -name '*.d' 2>/dev/null)
