/*
 * agent.h - the toolstack agent: dom0's end of the host control channel
 * (docs/toolstack.md sections 4 and 5).
 *
 * Runs in dom0 (the PV guest kernel started privileged with `agent` on
 * its command line), in the thread that calls agent_main.
 */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include "arch.h"

/* Takes over the calling thread for good: gets port I/O, sets up COM2,
 * the bulk ring, xenstore and VIRQ_DOM_EXC, prints `READY lamina-agent 1`
 * on COM2, then serves commands, consoles and xenstore rings.  Ends only
 * by powering dom0 (and with it the machine) off on `poweroff`, or with
 * panic() if the control interface cannot be opened.  Call after
 * sched_init() with events enabled. */
void agent_main(const struct arch_boot_info *bi) __attribute__((noreturn));

#endif /* AGENT_AGENT_H */
