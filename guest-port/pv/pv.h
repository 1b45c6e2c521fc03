/*
 * pv.h - internals of the PV arch layer (guest-port/pv): the frame the
 * entry stubs build, boot state shared between its files.
 * Runs in the guest kernel (ring 3 under x86-64 PV).
 */
#ifndef GUEST_PV_H
#define GUEST_PV_H

#include <stdbool.h>
#include <stdint.h>
#include "arch.h"
#include <pv/hypercall.h>

#define PV_VIRT_BASE 0xffffffff80000000UL
/* Kernel direct map of all pseudo-physical frames (L4 slot 273, outside
 * Xen's reserved 0xffff800000000000-0xffff87ffffffffff). */
#define PV_DMAP_BASE 0xffff888000000000UL

/* Vector numbers pv_frame.vector takes besides 0-31. */
#define PV_VEC_EVENT   0x100
#define PV_VEC_SYSCALL 0x101

/* What entry.S saves: GPRs, then Xen's bounce frame minus rcx/r11. */
struct pv_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;  /* cs bits 32-39: saved upcall mask */
};
_Static_assert(sizeof(struct pv_frame) == 22 * 8, "pv_frame matches entry.S");

/* Boot facts (boot.c). */
extern start_info_t *pv_start_info;
extern uint64_t pv_nr_pfns;         /* pfns covered by the direct map */
extern uint64_t pv_first_free_pfn;

/* mm.c: builds the direct map of every pfn (up to 511 GiB) and trims
 * Xen's initial mapping; the direct map's own tables beyond the first
 * 512 MiB are taken from *first_free_pfn on, which moves past them.
 * Returns the number of pfns mapped (<= nr_pages).  Panics (poweroff) on
 * failure. */
uint64_t pv_mm_init(start_info_t *si, uint64_t *first_free_pfn);
/* mm.c: the foreign-mapping window, PV_FOREIGN_BASE up to
 * PV_FOREIGN_MAX_PAGES pages: an L2 in slot 511 of the direct map's L3
 * (shared by every kernel address space) and its own read-only L1s, whose
 * entries dom0's libxenctrl (toolstack/libxc/xc_foreign.c) writes with
 * mmu_update to map other domains' frames. */
#define PV_FOREIGN_BASE      (PV_DMAP_BASE + (511UL << 30))
#define PV_FOREIGN_MAX_PAGES (64UL * 512)     /* 128 MiB */
/* Builds the window's first nr_pages pages (rounded up to 512), all not
 * present.  Once only: a second call returns 0 if the window is at least
 * that large.  0, -XEN_EINVAL (too large), -XEN_ENOMEM, or the hypervisor's
 * error when hooking the tables in. */
int pv_foreign_window_init(unsigned long nr_pages);
/* Machine address of the L1 entry that maps window page i (< the size
 * pv_foreign_window_init built). */
uint64_t pv_foreign_pte_maddr(unsigned long i);
/* time.c: binds VIRQ_TIMER, stops the periodic timer, samples t0. */
void pv_time_init(void);
/* time.c: around a suspend: the kernel clock stops at pv_time_suspend()
 * and goes on from there at pv_time_resume(); new_domain: VIRQ_TIMER is
 * bound again.  The last one-shot deadline is armed again either way. */
void pv_time_suspend(void);
void pv_time_resume(bool new_domain);
/* suspend.c: publishes the P2M in shared_info (arch.max_pfn and
 * pfn_to_mfn_frame_list_list) for the toolstack's save. */
void pv_p2m_publish(void);
/* balloon.c: watches memory/target (KiB) and gives frames back to the
 * hypervisor (XENMEM_decrease_reservation) or takes them again
 * (XENMEM_populate_physmap), up to the boot size.  0 or xenbus_watch()'s
 * error. */
int pv_balloon_init(void);
/* suspend.c: suspends the domain (SCHEDOP_shutdown(SHUTDOWN_suspend),
 * start_info's MFN in rdx) and returns once it runs again, restored
 * (channels, timer, console and xenbus bound again) or resumed in place.
 * Thread context, events may be on.  0, -XEN_EOPNOTSUPP (no P2M
 * published), or update_va_mapping's error (nothing changed). */
int pv_suspend(void);
/* frontend.c: sets up this domain's grant table (GNTTABOP_setup_table,
 * 8 frames), maps it and hands it to pv-abi's gnttab; once.  0 or errno. */
int pv_grant_table_start(void);
/* frontend.c: around a suspend: the grant table's frames unmapped, then
 * set up and mapped again (new_domain: every reference free).  0 or the
 * setup/mapping error. */
void pv_grant_table_suspend(void);
int pv_grant_table_resume(bool new_domain);
struct xenbus_front_env;
/* frontend.c: the kernel's services for a front-end driver, its notify
 * waking the calling thread (the driver's thread from then on). */
void pv_front_env(struct xenbus_front_env *env);
/* boot.c: prints and crashes the domain. */
void pv_die(const char *msg, long code) __attribute__((noreturn));
/* boot.c: minimal formatted output usable before the core runs. */
void pv_puts(const char *s);
void pv_puthex(uint64_t v);

/* entry.S */
void pv_trap_0(void), pv_trap_1(void), pv_trap_3(void), pv_trap_4(void),
     pv_trap_5(void), pv_trap_6(void), pv_trap_7(void), pv_trap_8(void),
     pv_trap_9(void), pv_trap_10(void), pv_trap_11(void), pv_trap_12(void),
     pv_trap_13(void), pv_trap_14(void), pv_trap_16(void), pv_trap_17(void),
     pv_trap_18(void), pv_trap_19(void);
void pv_hypervisor_callback(void);
void pv_syscall_callback(void);
void pv_failsafe_callback(void);
void pv_thread_start(void);

#endif /* GUEST_PV_H */
