/*
 * guest_service.h - the guest kernel's services, composed by registration.
 *
 * A service is something init runs when its word is on the kernel command
 * line: the toolstack agent (`agent`, dom0), the libxc self-test
 * (`test=build`), the benchmark suite (`bench`), the isolation self-tests
 * (`test=ud`, `test=bad-pte`), service mode (`service`) and its hostile
 * add-ons (`flood`, `xs-garbage`).  Each registers itself where it is
 * defined with GUEST_SERVICE(); the registrations land in the linker
 * section .guest_services, which both link maps (pv/pv.ld, native/native.ld)
 * keep whole between __start_guest_services and __stop_guest_services, as
 * Linux's initcalls do.  A kernel has the services of the objects linked
 * into it (the PV kernel also links dom0's toolstack), and the core looks
 * them up by word and stage, never by the name of a function of a layer
 * above it.
 *
 * Runs in the guest kernel, in init's thread (thread 0), interrupts
 * enabled.
 */
#ifndef GUEST_SERVICE_H
#define GUEST_SERVICE_H

#include <stdint.h>

struct arch_boot_info;

/* When init runs a stage's services, in this order.  Within one stage
 * the order is unspecified: services of a stage must not depend on it. */
enum guest_stage {
    GUEST_STAGE_ROLE,       /* the domain's role, replaces init (agent) */
    GUEST_STAGE_BENCH,      /* measurement runs that power off (bench) */
    GUEST_STAGE_TEST,       /* self-tests: return, or end the domain */
    GUEST_STAGE_MODE,       /* long-running modes, never return (service) */
    GUEST_STAGE_ADDON,      /* threads service mode starts (flood) */
    GUEST_STAGE_WORKLOAD,   /* options of init's own workload: no run */
    GUEST_STAGE_COUNT
};

/* flags: */
#define GUEST_SVC_CONTROL 0x1   /* needs the control domain (arch_privileged());
                                 * elsewhere init says so and carries on */

/* One registration.  name is the command-line word that requests it
 * (matched as cmdline_has() does); run is called with init's boot info
 * and may not return (stages ROLE, BENCH, MODE); NULL for a word that
 * only selects an option read elsewhere (stage WORKLOAD). */
struct guest_service {
    const char *name;
    void (*run)(const struct arch_boot_info *bi);
    uint8_t stage;              /* enum guest_stage */
    uint8_t flags;              /* GUEST_SVC_* */
};

#define GUEST_SVC_CAT2(a, b) a##b
#define GUEST_SVC_CAT(a, b) GUEST_SVC_CAT2(a, b)

/* Registers the service `fn` (void fn(const struct arch_boot_info *),
 * or NULL) under the command-line word `word` for stage `stage`, at file
 * scope.  `used` and the linker scripts' KEEP() keep it even though
 * nothing refers to it by name. */
#define GUEST_SERVICE(word, fn, stage_, flags_)                                   \
    static const struct guest_service GUEST_SVC_CAT(guest_service_, __COUNTER__)  \
        __attribute__((used, section(".guest_services"), aligned(8))) =           \
        { .name = (word), .run = (fn), .stage = (stage_), .flags = (flags_) }

/* Bounds of the table (the link maps define them). */
extern const struct guest_service __start_guest_services[];
extern const struct guest_service __stop_guest_services[];

/* Runs, for each registered service of `stage` whose word is on
 * bi->cmdline, its run function (a GUEST_SVC_CONTROL one only in the
 * control domain; elsewhere it prints "init: WORD: needs a privileged
 * (PV dom0) kernel, running the workload").  Returns when every such
 * service returned. */
void guest_service_run_stage(const struct arch_boot_info *bi, enum guest_stage stage);

/* Checks every request on bi->cmdline: a bare word (no '=') or a
 * `test=NAME` word; other KEY=VALUE words are parameters read by the
 * services themselves (bench_iters=N, workload=quick).  For each request
 * no registration names, prints one line naming it and listing the
 * registered words.  Returns the number of unknown requests. */
int guest_service_check_cmdline(const struct arch_boot_info *bi);

#endif /* GUEST_SERVICE_H */
