/*
 * xc_selftest.h - dom0's libxenctrl / domain-builder self-test
 * (xc_selftest.c).  Runs in dom0 (the Lamina PV guest kernel).  No Xen
 * headers here, so the guest core can include it anywhere.
 */
#ifndef LAMINA_XC_SELFTEST_H
#define LAMINA_XC_SELFTEST_H

struct arch_boot_info;

/* With `test=build` on the command line: creates, builds (dom_build), runs
 * and destroys a tiny PV domain and a tiny unmodified one, checking
 * libxenctrl's results and that physinfo.free_pages comes back; prints
 * "libxc-selftest: PASS" or "libxc-selftest: FAIL ...".  Otherwise does
 * nothing.  Call from init's thread with interrupts enabled. */
void libxc_selftest(const struct arch_boot_info *bi);

#endif /* LAMINA_XC_SELFTEST_H */
