/*
 * hostile.h - what hostile.c shares with the other case files of the
 * adversarial PV kernel (exitpath.c).  Runs in the PV guest kernel.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdbool.h>
#include <stdint.h>
#include <lamina/xen.h>

extern start_info_t *si;                /* as the hypervisor handed it over */

/* Console output, one line at a time (hostile.c). */
void put_s(const char *s);
void put_dec(long v);
void put_hex(unsigned long v);
void line_end(void);
/* Prints "hostile: <name>: rc=<rc> expect=<expect> PASS|FAIL" and counts it. */
void report(const char *name, long rc, long expect);
/* Prints "hostile: setup: <what> FAIL" and counts a failure. */
void setup_fail(const char *what);
/* True if the command line has word (space separated). */
bool cmdline_has(const char *word);

/* Our own page tables (hostile.c). */
struct walk {
    unsigned long l4_mfn, l2_mfn, l1_mfn;
    unsigned long l1e_ma;       /* machine address of the L1 entry */
    unsigned long l1e;          /* its current value */
};
/* MFN behind a kernel VA of our own image. */
unsigned long va_to_mfn(const void *va);
/* Walks our page tables for va; false when a level is missing or a superpage. */
bool pt_walk(unsigned long va, struct walk *w);
/* One MMU_NORMAL_PT_UPDATE of the entry at machine address ma; its rc. */
long pte_write(unsigned long ma, unsigned long val);

/* exitpath.c: the exit-path cases (command-line word exit-cases). */
void run_exit_cases(void);

#endif
