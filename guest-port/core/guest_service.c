/*
 * guest_service.c - looks up the registered services (guest_service.h) by
 * command-line word and stage, and reports requests nobody registered.
 *
 * Runs in the guest kernel, in init's thread, interrupts enabled.
 */
#include "guest_service.h"
#include "kernel.h"

#define WORD_MAX 64     /* longer words are reported cut to this */
#define LIST_MAX 512    /* the registered words, space-separated */

void guest_service_run_stage(const struct arch_boot_info *bi, enum guest_stage stage)
{
    for (const struct guest_service *s = __start_guest_services; s < __stop_guest_services; s++) {
        if (s->stage != stage || !s->run || !cmdline_has(bi->cmdline, s->name))
            continue;
        if ((s->flags & GUEST_SVC_CONTROL) && !arch_privileged()) {
            kprintf("init: %s: needs a privileged (PV dom0) kernel, running the workload\n",
                    s->name);
            continue;
        }
        s->run(bi);
    }
}

/* True when some registration's word is the n bytes at w. */
static bool word_registered(const char *w, size_t n)
{
    for (const struct guest_service *s = __start_guest_services; s < __stop_guest_services; s++)
        if (strlen(s->name) == n && !strncmp(s->name, w, n))
            return true;
    return false;
}

/* True when the n bytes at w are a request (see guest_service.h). */
static bool word_is_request(const char *w, size_t n)
{
    if (n > 5 && !strncmp(w, "test=", 5))
        return true;
    for (size_t i = 0; i < n; i++)
        if (w[i] == '=')
            return false;
    return true;
}

int guest_service_check_cmdline(const struct arch_boot_info *bi)
{
    const char *p = bi->cmdline;
    int unknown = 0;

    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - w);
        if (n == 0 || !word_is_request(w, n) || word_registered(w, n))
            continue;
        char word[WORD_MAX + 1], list[LIST_MAX];
        size_t len = 0;
        strlcpy_k(word, w, n < WORD_MAX ? n + 1 : WORD_MAX + 1);
        for (int st = 0; st < GUEST_STAGE_COUNT; st++) {
            for (const struct guest_service *s = __start_guest_services;
                 s < __stop_guest_services; s++) {
                size_t l = strlen(s->name);
                if (s->stage != st || len + l + 2 > sizeof(list))
                    continue;
                list[len++] = ' ';
                memcpy(list + len, s->name, l);
                len += l;
            }
        }
        list[len] = 0;
        /* One kprintf: the line stays whole beside other threads' output. */
        kprintf("init: unknown request \"%s\" on the command line; this kernel has:%s\n",
                word, list);
        unknown++;
    }
    return unknown;
}
