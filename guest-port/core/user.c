/*
 * user.c - user processes and the system calls they make.
 *
 * A process is one thread plus an address space holding a copy of the
 * built-in user program (user_prog.S) at USER_CODE_VA and one stack page
 * below USER_STACK_TOP.  The system-call ABI is in syscall_nr.h.
 * user_bench_process_start() starts the program's benchmark entry with
 * sample pages at USER_BENCH_DATA_VA (core/bench.c).
 * Runs in the guest kernel: process set-up in thread context, core_syscall
 * and core_page_fault on the current thread's kernel stack.
 */
#include "bench.h"
#include "kernel.h"

extern const char user_prog_start[], user_prog_end[], user_prog_fault_entry[];
extern const char user_prog_privop_entry[];
extern const char user_prog_bench_entry[];

#define USER_MAX_CODE_PAGES 4

struct user_proc {
    struct arch_aspace *as;
    uint64_t code_pfn[USER_MAX_CODE_PAGES];
    size_t code_pages;
    uint64_t stack_pfn;
    struct thread *thread;
    uint64_t entry;             /* user rip of the first instruction */
};

static size_t user_code_pages(void)
{
    return ALIGN_UP((size_t)(user_prog_end - user_prog_start), GPAGE_SIZE) / GPAGE_SIZE;
}

/* True when [va, va+len) lies inside the user program's mappings. */
static bool user_range_ok(uint64_t va, uint64_t len)
{
    uint64_t code_end = USER_CODE_VA + user_code_pages() * GPAGE_SIZE;
    if (va + len < va)
        return false;
    if (va >= USER_CODE_VA && va + len <= code_end)
        return true;
    return va >= USER_STACK_TOP - GPAGE_SIZE && va + len <= USER_STACK_TOP;
}

static void user_thread(void *arg)
{
    struct user_proc *p = arg;
    thread_set_aspace(thread_current(), p->as);
    arch_irq_disable();
    arch_enter_user(p->entry, USER_STACK_TOP);
}

static void user_proc_free(struct user_proc *p)
{
    if (p->as)
        arch_aspace_destroy(p->as);
    for (size_t i = 0; i < p->code_pages; i++)
        core_free_frame(p->code_pfn[i]);
    if (p->stack_pfn)
        core_free_frame(p->stack_pfn);
    kfree(p);
}

/* A process running the built-in user program from `entry_off` bytes into
 * it, with data_pages frames from data_pfn mapped writable at
 * USER_BENCH_DATA_VA (none when data_pages is 0).  NULL when out of memory. */
static struct user_proc *process_start(uint64_t entry_off, uint64_t data_pfn,
                                       size_t data_pages, const char *name)
{
    size_t pages = user_code_pages();
    if (pages > USER_MAX_CODE_PAGES)
        panic("user: program too large (%lu pages)", (unsigned long)pages);
    struct user_proc *p = kzalloc(sizeof(*p));
    if (!p)
        return NULL;
    p->entry = USER_CODE_VA + entry_off;
    p->as = arch_aspace_create();
    if (!p->as)
        goto fail;
    size_t size = (size_t)(user_prog_end - user_prog_start);
    for (size_t i = 0; i < pages; i++) {
        uint64_t pfn = core_alloc_frame();
        if (!pfn)
            goto fail;
        p->code_pfn[p->code_pages++] = pfn;
        size_t off = i * GPAGE_SIZE;
        size_t n = size - off < GPAGE_SIZE ? size - off : GPAGE_SIZE;
        memcpy(arch_pfn_to_virt(pfn), user_prog_start + off, n);
        if (arch_aspace_map(p->as, USER_CODE_VA + off, pfn, false))
            goto fail;
    }
    p->stack_pfn = core_alloc_frame();
    if (!p->stack_pfn ||
        arch_aspace_map(p->as, USER_STACK_TOP - GPAGE_SIZE, p->stack_pfn, true))
        goto fail;
    for (size_t i = 0; i < data_pages; i++)
        if (arch_aspace_map(p->as, USER_BENCH_DATA_VA + i * GPAGE_SIZE, data_pfn + i, true))
            goto fail;
    p->thread = thread_create(name, user_thread, p);
    if (!p->thread)
        goto fail;
    return p;
fail:
    user_proc_free(p);
    return NULL;
}

struct user_proc *user_process_start(bool faulting)
{
    return process_start(faulting ? (uint64_t)(user_prog_fault_entry - user_prog_start) : 0,
                         0, 0, "user");
}

struct user_proc *user_privop_process_start(void)
{
    return process_start((uint64_t)(user_prog_privop_entry - user_prog_start), 0, 0, "user");
}

struct user_proc *user_bench_process_start(uint64_t data_pfn, size_t data_pages)
{
    return process_start((uint64_t)(user_prog_bench_entry - user_prog_start), data_pfn,
                         data_pages, "user-bench");
}

int user_process_pid(const struct user_proc *p)
{
    return thread_id(p->thread);
}

int user_process_wait(struct user_proc *p)
{
    int code = thread_join(p->thread);
    user_proc_free(p);
    return code;
}

/* write(fd, buf, len): copies in pieces, each piece one console write. */
static int64_t sys_write(uint64_t fd, uint64_t buf, uint64_t len)
{
    char tmp[256];
    if (fd != 1 && fd != 2)
        return -GUEST_EBADF;
    if (!user_range_ok(buf, len))
        return -GUEST_EFAULT;
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < sizeof(tmp) ? len - done : sizeof(tmp);
        memcpy(tmp, (const char *)(buf + done), n);
        bool flags = arch_irq_save();
        arch_console_write(tmp, n);
        arch_irq_restore(flags);
        done += n;
    }
    return (int64_t)len;
}

uint64_t core_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    switch (nr) {
    case SYS_write:
        return (uint64_t)sys_write(a0, a1, a2);
    case SYS_sched_yield:
        thread_yield();
        return 0;
    case SYS_getpid:
        return (uint64_t)thread_id(thread_current());
    case SYS_exit:
        thread_exit((int)a0);
    default:
        return (uint64_t)-GUEST_ENOSYS;
    }
}

bool core_page_fault(uint64_t addr, uint64_t error_code, bool user)
{
    if (!user)
        return bench_kernel_fault(addr);
    if (bench_user_done(addr))
        thread_exit(0);
    kprintf("user: pid %d killed: page fault at %lx (error %lx)\n",
            thread_id(thread_current()), (unsigned long)addr,
            (unsigned long)error_code);
    thread_exit(-GUEST_EFAULT);
}

void core_fatal_trap(unsigned int vector, uint64_t error_code, uint64_t rip,
                     bool user)
{
    arch_irq_disable();
    kprintf("fatal: exception %u error %lx at rip %lx in %s mode (thread %d)\n",
            vector, (unsigned long)error_code, (unsigned long)rip,
            user ? "user" : "kernel", thread_current() ? thread_id(thread_current()) : -1);
    arch_poweroff(1);
}
