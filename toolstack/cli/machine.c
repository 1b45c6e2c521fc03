/*
 * machine.c - `lamina up` and `lamina down`: start QEMU with the Lamina
 * hypervisor, dom0 (the PV kernel running the agent), COM2 on a unix socket
 * and the ivshmem bulk ring; start `lamina hostd`; stop it all.  Runs on the
 * host.  QEMU's options follow tools/lamina-boot.
 */
#include "lamina.h"
#include "savefile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BULK_FILE_MIB (BULK_FILE_BYTES >> 20)   /* savefile.h: the rings' layout */

static void mkdirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static void tail_file(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "  (no %s)\n", path);
        return;
    }
    static char buf[65536];
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    long off = sz > (long)sizeof(buf) - 1 ? sz - (long)sizeof(buf) + 1 : 0;
    fseek(f, off, SEEK_SET);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *start = buf + n;
    int seen = 0;
    while (start > buf) {
        if (start[-1] == '\n' && start != buf + n && ++seen > lines)
            break;
        start--;
    }
    fprintf(stderr, "--- last lines of %s ---\n%s", path, start);
    if (n && buf[n - 1] != '\n')
        fputc('\n', stderr);
}

/* bulk_file_create - the /dev/shm file behind ivshmem, with its header. */
static int bulk_file_create(void)
{
    int fd = open(lp.shm, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)BULK_FILE_MIB << 20) < 0) {
        err("up: cannot create %s: %s", lp.shm, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        err("up: cannot map %s: %s", lp.shm, strerror(errno));
        return -1;
    }
    struct lamina_bulk_hdr *h = (struct lamina_bulk_hdr *)p;
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, "LAMBULK1", 8);
    h->size = BULK_IN_SIZE;
    h->out_off = BULK_OUT_OFF;
    h->out_size = BULK_OUT_SIZE;
    munmap(p, 4096);
    return 0;
}

static int wait_gone(int pid, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return 0;
        waitpid(pid, NULL, WNOHANG);
        usleep(50000);
    }
    return kill(pid, 0) < 0 && errno == ESRCH ? 0 : -1;
}

static void kill_qemu(int pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    if (wait_gone(pid, 3000) < 0) {
        kill(pid, SIGKILL);
        wait_gone(pid, 2000);
    }
}

static void remove_run_files(void)
{
    unlink(lp.sock);
    unlink(lp.ctl);
    unlink(lp.shm);
    unlink(lp.qemupid);
    unlink(lp.qmp);
}

/* spawn_hostd - start `lamina hostd` detached (setsid, double fork). */
static int spawn_hostd(int qpid)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setsid();
        if (fork() != 0)
            _exit(0);
        int nul = open("/dev/null", O_RDONLY);
        int log = open(lp.hostdlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (nul >= 0)
            dup2(nul, 0);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        char pidstr[16];
        snprintf(pidstr, sizeof(pidstr), "%d", qpid);
        setenv("LAMINA_RUN_DIR", lp.run, 1);
        unsetenv("LAMINA_MACHINE");         /* lp.run is that machine's already */
        execl("/proc/self/exe", "lamina", "hostd", lp.run, pidstr, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return 0;
}

/* try_ping - one ping through hostd; 1 answered, 0 not (yet). */
static int try_ping(struct lconn *c, int timeout_ms, char *ver, size_t vlen)
{
    uint32_t id;
    struct msg m;
    if (lconn_send(c, &id, "ping"))
        return -1;
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000;
    while (now_ns() < end) {
        int r = lconn_next(c, &m, (int)((end - now_ns()) / 1000000) + 1);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        if (m.id != id)
            continue;
        if (m.kind == 'R' && msg_get(&m, "version"))
            snprintf(ver, vlen, "%s", msg_get(&m, "version"));
        if (m.kind == 'K' || m.kind == 'E')
            return 1;
    }
    return 0;
}

static int hostd_ready(struct lconn *c)
{
    uint32_t id;
    struct msg m;
    if (lconn_send(c, &id, "hostd-status"))
        return -1;
    int ready = 0;
    for (;;) {
        int r = lconn_next(c, &m, 2000);
        if (r <= 0)
            return -1;
        if (m.id != id)
            continue;
        if (m.kind == 'R' && msg_get(&m, "ready"))
            ready = atoi(msg_get(&m, "ready"));
        if (m.kind == 'K')
            return ready;
    }
}

static volatile sig_atomic_t up_interrupted;

static void up_on_signal(int sig)
{
    up_interrupted = sig;
}

/* up_abort - Ctrl-C (or SIGTERM/SIGHUP) while the machine starts: stop
 * what was started, say so. */
static int up_abort(int pid)
{
    if (pid) {
        kill_qemu(pid);             /* hostd exits with QEMU */
        err("up: interrupted; stopped the machine that was starting (QEMU pid %d) and "
            "its hostd", pid);
    } else {
        err("up: interrupted before QEMU started; nothing runs");
    }
    remove_run_files();
    return 130;
}

int cmd_up(struct inv *iv)
{
    long mem = inv_num(iv, "memory", 1024, 64, 1 << 20);
    long dom0 = inv_num(iv, "dom0-memory", 64, 16, 1 << 20);
    long timeout = inv_num(iv, "timeout", 60, 1, 86400);
    const char *accel = inv_str(iv, "accel");
    if (!accel)
        accel = "tcg";
    if (strcmp(accel, "tcg") && strcmp(accel, "kvm"))
        return usage_error(iv, "--accel must be tcg or kvm, not '%s'", accel);
    if (dom0 + 32 > mem)
        return usage_error(iv, "--dom0-memory %ld MiB leaves too little of --memory %ld MiB",
                           dom0, mem);
    if (!strcmp(accel, "kvm")) {
        if (access("/sys/module/kvm_pvm", F_OK) == 0) {
            err("up: --accel kvm refused: this host's /dev/kvm is PVM (the kvm_pvm module "
                "is loaded), a software VM without real VT-x/SVM on which a ring-0 "
                "hypervisor cannot run; use --accel tcg");
            return EXIT_FAIL;
        }
        if (access("/dev/kvm", W_OK) != 0) {
            err("up: --accel kvm: /dev/kvm is missing or not writable");
            return EXIT_FAIL;
        }
    }
    int pid = qemu_pid();
    if (pid) {
        struct lconn probe;
        if (lconn_open(&probe, 1) == 0) {
            lconn_close(&probe);
            err("the machine is already up (QEMU pid %d); `lamina down` first", pid);
        } else {
            err("up: QEMU (pid %d) of this run directory still runs, but its lamina hostd "
                "is gone; `lamina down` stops it, then `lamina up`", pid);
        }
        return EXIT_FAIL;
    }
    if (qemu_pid_recorded()) {
        printf("lamina: the last machine of %s died (QEMU pid %d is gone); cleaning its "
               "files\n", lp.run, qemu_pid_recorded());
        remove_run_files();
    }
    char hv[PATH_MAX], pv[PATH_MAX];
    snprintf(hv, sizeof(hv), "%.4000s/lamina.elf", lp.images);
    snprintf(pv, sizeof(pv), "%.4000s/guest-pv.elf", lp.images);
    for (const char *f = hv; f; f = f == hv ? pv : NULL) {
        if (access(f, R_OK) != 0) {
            err("up: %s not found; run `make` (or set LAMINA_ROOT)", f);
            return EXIT_FAIL;
        }
        if (strchr(f, ',')) {
            err("up: a comma in %s cannot be passed to QEMU; move the tree", f);
            return EXIT_FAIL;
        }
    }
    if (strlen(lp.sock) >= 108) {
        err("up: the run directory %s is too long a path for unix sockets; "
            "set LAMINA_RUN_DIR to a shorter one", lp.run);
        return EXIT_FAIL;
    }
    mkdirs(lp.run);
    remove_run_files();
    unlink(lp.hvlog);
    if (bulk_file_create())
        return EXIT_FAIL;
    FILE *mf = fopen(lp.machine, "w");
    if (mf) {
        fprintf(mf, "accel=%s\nmemory=%ld\ndom0_memory=%ld\nstarted=%ld\n", accel, mem,
                dom0, (long)time(NULL));
        fclose(mf);
    }

    uint64_t t0 = now_ns();
    char s_mem[16], s_append[64], s_initrd[PATH_MAX + 16], s_serial[PATH_MAX + 16],
        s_chardev[PATH_MAX + 64], s_bulk[PATH_MAX + 96], s_qlog[PATH_MAX], s_qmp[PATH_MAX + 32];
    snprintf(s_mem, sizeof(s_mem), "%ld", mem);
    snprintf(s_append, sizeof(s_append), "console=com1 dom0_mem=%ldM", dom0);
    snprintf(s_initrd, sizeof(s_initrd), "%s agent nic=%d", pv, LAMINA_NIC_SLOT);
    snprintf(s_serial, sizeof(s_serial), "file:%s", lp.hvlog);
    snprintf(s_chardev, sizeof(s_chardev), "socket,id=ctl,path=%s,server=on,wait=off", lp.ctl);
    snprintf(s_bulk, sizeof(s_bulk),
             "memory-backend-file,id=bulk,share=on,mem-path=%s,size=%dM", lp.shm,
             BULK_FILE_MIB);
    snprintf(s_qlog, sizeof(s_qlog), "%.4000s/qemu.log", lp.run);
    snprintf(s_qmp, sizeof(s_qmp), "unix:%s,server=on,wait=off", lp.qmp);
    const char *qemu = getenv("QEMU");
    if (!qemu || !*qemu)
        qemu = "qemu-system-x86_64";
    /* -display none instead of -nographic: QEMU refuses -nographic with
     * -daemonize, and both serial ports are redirected anyway. */
    const char *argv[] = {
        qemu, "-M", "pc", "-accel", accel, "-cpu", "max", "-m", s_mem,
        "-display", "none", "-monitor", "none", "-qmp", s_qmp, "-no-reboot",
        /* dom0's NIC: legacy virtio-net on QEMU's user network (docs/network.md) */
        "-netdev", "user,id=" LAMINA_NETDEV ",net=10.0.2.0/24",
        "-device", "virtio-net-pci,netdev=" LAMINA_NETDEV ",disable-modern=on,addr=" LAMINA_NIC_ADDR
        ",mac=52:54:00:12:34:56",
        "-device", "isa-debug-exit,iobase=0x501,iosize=2",
        "-kernel", hv, "-append", s_append, "-initrd", s_initrd,
        "-serial", s_serial,
        "-chardev", s_chardev, "-serial", "chardev:ctl",
        "-object", s_bulk, "-device", "ivshmem-plain,memdev=bulk",
        "-pidfile", lp.qemupid, "-daemonize", NULL,
    };
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = up_on_signal;       /* no SA_RESTART: waits return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pid_t child = fork();
    if (child < 0) {
        err("up: fork: %s", strerror(errno));
        return EXIT_FAIL;
    }
    if (child == 0) {
        int log = open(s_qlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        execvp(qemu, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", qemu, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    for (int i = 0; i < 40 && !(pid = qemu_pid()) && WIFEXITED(st) && !WEXITSTATUS(st); i++)
        usleep(50000);              /* the pidfile may lag the parent's exit */
    if (up_interrupted)
        return up_abort(pid ? pid : qemu_pid());
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !pid) {
        err("up: QEMU did not start");
        tail_file(s_qlog, 20);
        remove_run_files();
        return EXIT_FAIL;
    }
    if (spawn_hostd(pid) < 0) {
        err("up: cannot start lamina hostd: %s", strerror(errno));
        kill_qemu(pid);
        remove_run_files();
        return EXIT_FAIL;
    }

    struct lconn c = { .fd = -1 };
    char ver[64] = "?";
    uint64_t deadline = t0 + (uint64_t)timeout * 1000000000ull, last_ping = 0;
    int ok = 0;
    while (now_ns() < deadline) {
        if (up_interrupted) {
            lconn_close(&c);
            return up_abort(pid);
        }
        if (!qemu_pid()) {
            err("up: QEMU exited while the machine was starting");
            tail_file(lp.hvlog, 30);
            remove_run_files();
            return EXIT_FAIL;
        }
        if (c.fd < 0 && lconn_open(&c, 1) < 0) {
            usleep(50000);
            continue;
        }
        int ready = hostd_ready(&c);
        if (ready < 0) {
            lconn_close(&c);
            continue;
        }
        if (ready || now_ns() - last_ping > 2000000000ull) {
            last_ping = now_ns();
            int r = try_ping(&c, ready ? 5000 : 1000, ver, sizeof(ver));
            if (r > 0) {
                ok = 1;
                break;
            }
            if (r < 0)
                lconn_close(&c);
        } else {
            usleep(100000);
        }
    }
    lconn_close(&c);
    if (!ok) {
        err("up: the dom0 agent did not answer within %ld s; stopping QEMU", timeout);
        tail_file(lp.hvlog, 30);
        kill_qemu(pid);
        remove_run_files();
        return EXIT_FAIL;
    }
    printf("lamina: machine up in %.2f s (QEMU pid %d, accel %s, %ld MiB, dom0 %ld MiB, "
           "agent %s)\n", (double)(now_ns() - t0) / 1e9, pid, accel, mem, dom0, ver);
    return EXIT_OK;
}

int cmd_down(struct inv *iv)
{
    int pid = qemu_pid();
    if (!pid) {
        remove_run_files();
        printf("lamina: the machine is not up (nothing to stop)\n");
        return EXIT_OK;
    }
    uint64_t t0 = now_ns();
    if (!inv_flag(iv, "force")) {
        struct lconn c;
        if (lconn_open(&c, 1) == 0) {
            if (lamina_call(&c, "down", NULL, NULL, NULL, 10000, "poweroff"))
                err("down: the agent did not power off; stopping QEMU");
            lconn_close(&c);
            if (wait_gone(pid, 10000) < 0)
                err("down: QEMU still runs 10 s after poweroff; killing it");
        } else {
            err("down: lamina hostd is gone, so the agent cannot be asked to power off; "
                "stopping QEMU (pid %d)", pid);
        }
    }
    kill_qemu(pid);
    remove_run_files();
    printf("lamina: machine down in %.2f s\n", (double)(now_ns() - t0) / 1e9);
    return EXIT_OK;
}
