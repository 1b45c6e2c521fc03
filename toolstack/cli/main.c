/*
 * main.c - `lamina`, the host CLI of the Lamina toolstack: the command table,
 * option parsing and help generated from the table.  Runs on the host.
 *
 * Words and behaviour follow Xen's xl: `lamina create pv.cfg`, `lamina list`,
 * `lamina console NAME`.  Exit status: 0 success, 1 failure, 2 usage error.
 */
#include "cfg.h"
#include "lamina.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct cmd cmds[] = {
    { "up", "", "start the machine (QEMU, the hypervisor and dom0's agent)",
      "Starts QEMU in the background with the Lamina hypervisor and dom0 (the PV\n"
      "guest kernel running the toolstack agent), starts `lamina hostd`, and\n"
      "returns once the agent answers.  Logs go to the run directory.",
      { { "memory", 'm', "MiB", "RAM of the QEMU machine (default 1024)" },
        { "dom0-memory", 0, "MiB", "dom0's memory (default 64)" },
        { "accel", 0, "tcg|kvm", "QEMU accelerator (default tcg; kvm is refused on PVM hosts)" },
        { "timeout", 't', "SEC", "give up when the agent has not answered (default 60)" },
        { "name", 'n', "NAME", "another machine on this host: its files in "
          "<run>/machines/NAME (LAMINA_MACHINE=NAME selects it for later commands)" } },
      0, 0, cmd_up, 0 },
    { "down", "", "power the machine off",
      "Asks dom0's agent to power off, waits for QEMU to exit (killing it after\n"
      "10 s), and removes the sockets and the bulk file.",
      { { "force", 'f', NULL, "kill QEMU without asking the agent" } }, 0, 0, cmd_down, 0 },
    { "create", "CFG [KEY=VALUE...]", "create a domain from an xl-style configuration file",
      "Parses CFG (keys: name, type, kernel, cmdline/extra, memory, vcpus,\n"
      "on_crash; see docs/cli.md), streams the kernel over the bulk channel and\n"
      "builds and starts the domain.  Each KEY=VALUE is one more cfg line that\n"
      "overrides the file's (xl's overrides): memory=64 'name=\"guest2\"'.",
      { { "console", 'c', NULL, "attach to the domain's console once it is created" } },
      1, 65, cmd_create, 0 },
    { "list", "[DOMAIN...]", "list the domains (or the ones named)",
      "Prints Name, ID, Mem (MiB), VCPUs, State (xl's letters: r b p s c d) and\n"
      "Time(s), the CPU time used.  DOMAIN is a name or an id.",
      { { "json", 0, NULL, "print a JSON array of objects instead of a table" },
        { "long", 'l', NULL, "everything known about each domain, as JSON (xl list -l)" } },
      0, 64, cmd_list, 0 },
    { "domid", "NAME", "print the id of the domain NAME", NULL, { { 0 } }, 1, 1, cmd_domid, 0 },
    { "domname", "ID", "print the name of domain ID", NULL, { { 0 } }, 1, 1, cmd_domname, 0 },
    { "uptime", "[DOMAIN...]", "how long each domain has run since it was (re)started",
      NULL, { { 0 } }, 0, 64, cmd_uptime, 0 },
    { "vcpu-list", "[DOMAIN...]", "list the vCPUs: their CPU, state and time (xl vcpu-list)",
      NULL, { { 0 } }, 0, 64, cmd_vcpu_list, 0 },
    { "sched-credit", "[...]", "(xl's credit scheduler: Lamina's has no weights; explains)",
      NULL, { { 0 } }, 0, 64, cmd_sched_credit, 0 },
    { "mem-set", "DOMAIN MEM", "set a PV domain's memory target (xl mem-set)",
      "MEM is MiB, or a number with a suffix k, m or g.  The domain's balloon\n"
      "driver (memory/target in xenstore) gives frames back to the hypervisor or\n"
      "takes them again, up to the memory it was created with.  The command returns\n"
      "once the target is set; `lamina list` shows the memory the domain holds.",
      { { 0 } }, 2, 2, cmd_mem_set, 0 },
    { "pause", "DOMAIN", "pause a domain (by name or id)", NULL, { { 0 } }, 1, 1, cmd_domop, 0 },
    { "unpause", "DOMAIN", "unpause a domain", NULL, { { 0 } }, 1, 1, cmd_domop, 0 },
    { "shutdown", "DOMAIN", "ask a domain to power off (control/shutdown)", NULL,
      { { "wait", 'w', NULL, "wait (up to 60 s) until the domain is gone" } }, 1, 1,
      cmd_domop, 0 },
    { "reboot", "DOMAIN", "ask a domain to reboot (control/shutdown)", NULL,
      { { "wait", 'w', NULL, "wait (up to 60 s) until it runs again under a new id" } }, 1, 1,
      cmd_domop, 0 },
    { "destroy", "DOMAIN", "destroy a domain at once", NULL, { { 0 } }, 1, 1, cmd_domop, 0 },
    { "save", "DOMAIN FILE", "save a PV domain to FILE and destroy it (xl save)",
      "The guest suspends (control/shutdown \"suspend\"), its memory, vCPU and\n"
      "devices are written to FILE (docs/save-format.md), the domain is destroyed.\n"
      "With --checkpoint it resumes instead and keeps running.",
      { { "checkpoint", 'c', NULL, "leave the domain running after saving it (xl save -c)" } },
      2, 2, cmd_save, 0 },
    { "restore", "FILE", "restore a domain saved with `save` (xl restore)",
      "FILE is checked first (version, framing, CRC-32): a truncated, corrupt or\n"
      "foreign file is refused and nothing starts.  The domain gets new frames and\n"
      "a new id, its name, disks and vifs are those it was saved with.",
      { { 0 } }, 1, 1, cmd_restore, 0 },
    { "migrate", "DOMAIN MACHINE", "move a running PV domain to another machine (xl migrate)",
      "Live migration by pre-copy: the domain runs on while its memory goes to\n"
      "MACHINE (a name given to `lamina up --name`, or a run directory) round after\n"
      "round, write-protected so that each round sends what the last one saw\n"
      "written; then it suspends for the last pages and resumes there.  It keeps\n"
      "its name, MAC, IP and disks (the image is shared: both machines are on this\n"
      "host), and its forwarded host ports move with it.  If anything fails before\n"
      "the target runs it, the domain runs on here.",
      { { "rounds", 'r', "N", "pre-copy rounds at most, the first full one included "
          "(default 8)" },
        { "threshold", 0, "PAGES", "stop and copy once a round leaves this few dirty "
          "pages (default 50)" } },
      2, 2, cmd_migrate, 0 },
    { "remus", "DOMAIN MACHINE", "replicate a PV domain to a backup machine (xl remus)",
      "Continuous checkpoints (Remus, NSDI 2008): the domain is sent live to\n"
      "MACHINE as for migrate, then every --interval-ms it pauses while what it\n"
      "wrote since the last checkpoint is copied, and runs on.  MACHINE keeps the\n"
      "last whole checkpoint in a paused domain.  The domain's console output is\n"
      "held until MACHINE has acknowledged the checkpoint that covers it, so what\n"
      "anyone saw survives a failover.  If this machine dies, MACHINE resumes the\n"
      "domain from that checkpoint (its host forwards follow); if MACHINE dies, the\n"
      "domain runs on here.  Runs in the foreground; Ctrl-C stops the replication\n"
      "and the domain runs on here.  Disk images are shared, not replicated.",
      { { "interval-ms", 'i', "MS", "time between checkpoints (default 100, 20-10000)" },
        { "failover-ms", 0, "MS", "the backup takes over when the stream is silent this "
          "long (default 2000); at once when this machine's hostd goes" } },
      2, 2, cmd_remus, 0 },
    { "snapshot", "DOMAIN NAME", "snapshot a PV domain's memory and disks; it runs on",
      "The guest suspends; its memory goes to <run>/snapshots/DOMAIN/NAME/memory.sav\n"
      "and each read-write disk image is copied beside it while it is suspended, so\n"
      "memory and disks are of one instant; then it resumes.",
      { { 0 } }, 2, 2, cmd_snapshot, 0 },
    { "snapshot-list", "[DOMAIN]", "list the snapshots (of DOMAIN)", NULL, { { 0 } }, 0, 1,
      cmd_snapshot_list, 0 },
    { "snapshot-revert", "DOMAIN NAME", "go back to a snapshot",
      "Destroys DOMAIN if it runs, copies the snapshot's disk images back over its\n"
      "disks and restores its memory: the domain runs on from the snapshot's instant.",
      { { 0 } }, 2, 2, cmd_snapshot_revert, 0 },
    { "snapshot-delete", "DOMAIN NAME", "delete a snapshot", NULL, { { 0 } }, 2, 2,
      cmd_snapshot_delete, 0 },
    { "console", "DOMAIN", "attach to a domain's console",
      "On a terminal the console is interactive (raw mode); Ctrl-] detaches.\n"
      "When stdin is not a terminal, each input line is sent to the domain and\n"
      "the command exits shortly after the end of input.",
      { { "dump", 'd', NULL, "print the console history and exit" },
        { "drain", 0, "MS", "with piped input: wait MS after EOF for output (default 1000)" } },
      1, 1, cmd_console, 0 },
    { "block-list", "DOMAIN", "list a domain's virtual disks",
      "One line per disk: its vdev and device number, mode, the back-end's xenbus\n"
      "state, size in sectors, requests served, errors and the image file.", { { 0 } },
      1, 1, cmd_block_list, 0 },
    { "block-attach", "DOMAIN DISK-SPEC", "attach a disk to a running domain",
      "DISK-SPEC is xl's: \"format=raw, vdev=xvdb, access=rw, target=disk.img\" or\n"
      "\"disk.img,raw,xvdb,rw\".  The image may be shared read-only between\n"
      "domains; read-write it has one user.", { { 0 } }, 2, 2, cmd_block_attach, 0 },
    { "block-detach", "DOMAIN VDEV", "detach a disk from a running domain",
      "VDEV is the disk's vdev (xvdb) or device number (51728).  blkback finishes\n"
      "the requests in flight, the guest's front-end is told to close.", { { 0 } },
      2, 2, cmd_block_detach, 0 },
    { "network-list", "DOMAIN", "list a domain's vifs (Domain-0: every vif and the bridge)",
      "One line per vif: its devid, MAC, IP, the back-end's xenbus state, frames\n"
      "each way, frames dropped for want of guest buffers and the rate limit.\n"
      "For Domain-0 also the ports of the bridge xenbr0.", { { 0 } },
      1, 1, cmd_network_list, 0 },
    { "network-attach", "DOMAIN [VIF-SPEC]", "attach a vif to a running domain",
      "VIF-SPEC is xl's: \"mac=00:16:3e:00:00:21, bridge=xenbr0, ip=10.0.2.21,\n"
      "rate=100Mb/s\" (all optional; a MAC is made in 00:16:3e when absent), and\n"
      "Lamina's forward=HOSTPORT:GUESTPORT.", { { 0 } }, 1, 2, cmd_network_attach, 0 },
    { "network-detach", "DOMAIN DEVID", "detach a vif from a running domain",
      "DEVID is the vif's number (network-list's Idx).  It leaves the bridge, its\n"
      "forwards go, the guest's front-end is told to close.", { { 0 } },
      2, 2, cmd_network_detach, 0 },
    { "forward", "[list | add HOSTPORT IP:PORT | remove HOSTPORT]",
      "forward a TCP port of the host (127.0.0.1) into the guests' network",
      "QEMU's user network forwards 127.0.0.1:HOSTPORT to IP:PORT on 10.0.2.0/24:\n"
      "a domU's vif address or dom0's 10.0.2.15.  A vif's forward= does the same\n"
      "for the domain's lifetime.", { { 0 } }, 0, 3, cmd_forward, 0 },
    { "dmesg", "", "print the hypervisor's log",
      NULL, { { "clear", 'c', NULL, "clear the log after printing it" } }, 0, 0, cmd_dmesg, 0 },
    { "info", "", "print information about the machine and the hypervisor",
      NULL, { { 0 } }, 0, 0, cmd_info, 0 },
    { "top", "", "show domains and their CPU and memory use, refreshing",
      "Like xentop.  On a terminal it refreshes until `q` or Ctrl-C; with\n"
      "--iterations or --batch (or when stdout is not a terminal) it prints\n"
      "plain tables, one per interval.",
      { { "delay", 'd', "SEC", "seconds between updates (default 1)" },
        { "iterations", 'i', "N", "stop after N updates" },
        { "batch", 'b', NULL, "plain output, no screen control" } },
      0, 0, cmd_top, 0 },
    { "bench-channel", "", "measure the bulk channel (host -> dom0), in MiB/s",
      NULL, { { "size", 's', "MiB", "bytes to move (default 64)" } }, 0, 0,
      cmd_bench_channel, 0 },
    { "hostd", "RUNDIR QEMU-PID", "(internal) the host daemon started by `up`", NULL,
      { { 0 } }, 2, 2, cmd_hostd, 1 },
};
#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static int nr_opts(const struct cmd *c)
{
    int n = 0;
    while (n < CMD_MAX_OPTS && c->opts[n].name)
        n++;
    return n;
}

static void print_synopsis(FILE *f, const struct cmd *c)
{
    fprintf(f, "usage: lamina %s", c->name);
    if (nr_opts(c))
        fprintf(f, " [options]");
    if (c->args[0])
        fprintf(f, " %s", c->args);
    fputc('\n', f);
}

static void cmd_help(FILE *f, const struct cmd *c)
{
    print_synopsis(f, c);
    fprintf(f, "\n%s.\n", c->summary);
    if (c->help)
        fprintf(f, "\n%s\n", c->help);
    int n = nr_opts(c);
    if (n)
        fprintf(f, "\nOptions:\n");
    for (int i = 0; i < n; i++) {
        const struct cmd_opt *o = &c->opts[i];
        char left[64];
        snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->shortc ? "-" : "",
                 o->shortc ? o->shortc : ' ', o->shortc ? ", " : "  ", o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-26s %s\n", o->shortc ? left : left + 2, o->help);
    }
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
}

static void main_help(FILE *f)
{
    fprintf(f, "usage: lamina COMMAND [options] [args]\n\n"
               "Lamina's toolstack: run the machine and manage its domains (like xl).\n\n"
               "Commands:\n");
    for (size_t i = 0; i < NR_CMDS; i++)
        if (!cmds[i].hidden)
            fprintf(f, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\n`lamina COMMAND --help` describes a command; docs/cli.md has the details.\n"
               "Environment: LAMINA_RUN_DIR (default run/ beside this binary), LAMINA_MACHINE\n"
               "(a machine started with `up --name`), LAMINA_ROOT\n"
               "(a tree whose build/ images to run; default: those beside this binary),\n"
               "QEMU (the QEMU binary).\n");
}

int usage_error(const struct inv *iv, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lamina %s: ", iv->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_synopsis(stderr, iv->cmd);
    fprintf(stderr, "Try `lamina %s --help`.\n", iv->cmd->name);
    return EXIT_USAGE;
}

static int opt_index(const struct inv *iv, const char *name)
{
    for (int i = 0; i < nr_opts(iv->cmd); i++)
        if (!strcmp(iv->cmd->opts[i].name, name))
            return i;
    return -1;
}

const char *inv_str(const struct inv *iv, const char *name)
{
    int i = opt_index(iv, name);
    return i < 0 ? NULL : iv->val[i];
}

int inv_flag(const struct inv *iv, const char *name)
{
    return inv_str(iv, name) != NULL;
}

long inv_num(const struct inv *iv, const char *name, long dflt, long min, long max)
{
    const char *s = inv_str(iv, name);
    if (!s)
        return dflt;
    char *e;
    long v = strtol(s, &e, 10);
    if (!*s || *e || v < min || v > max)
        exit(usage_error(iv, "--%s: want an integer from %ld to %ld, got '%s'", name,
                         min, max, s));
    return v;
}

/* parse_args - fill iv from argv (after the command name).  Returns -1 to
 * exit 0 (help printed), 0 to run, or an exit status > 0. */
static int parse_args(struct inv *iv, int argc, char **argv)
{
    const struct cmd *c = iv->cmd;
    int n = nr_opts(c), only_pos = 0;
    iv->pos = calloc((size_t)argc + 1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            iv->pos[iv->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cmd_help(stdout, c);
            return -1;
        }
        int k = -1;
        const char *val = NULL;
        if (a[1] == '-') {
            char *eq = strchr(a, '=');
            size_t l = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            for (int j = 0; j < n; j++)
                if (strlen(c->opts[j].name) == l && !strncmp(c->opts[j].name, a + 2, l))
                    k = j;
            if (eq)
                val = eq + 1;
        } else {
            for (int j = 0; j < n; j++)
                if (c->opts[j].shortc == a[1])
                    k = j;
            if (a[2] && k >= 0) {
                if (!c->opts[k].arg)
                    return usage_error(iv, "option -%c takes no value", a[1]);
                val = a + 2;
            }
        }
        if (k < 0)
            return usage_error(iv, "unknown option '%s'", a);
        if (c->opts[k].arg) {
            if (!val) {
                if (i + 1 >= argc)
                    return usage_error(iv, "option --%s needs %s", c->opts[k].name,
                                       c->opts[k].arg);
                val = argv[++i];
            }
            iv->val[k] = val;
        } else {
            if (val)
                return usage_error(iv, "option --%s takes no value", c->opts[k].name);
            iv->val[k] = "1";
        }
    }
    if (iv->npos < c->min_pos)
        return usage_error(iv, "missing %s", c->args);
    if (iv->npos > c->max_pos)
        return usage_error(iv, "unexpected argument '%s'", iv->pos[c->max_pos]);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        main_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < NR_CMDS; i++)
                if (!strcmp(cmds[i].name, argv[2])) {
                    cmd_help(stdout, &cmds[i]);
                    return EXIT_OK;
                }
            fprintf(stderr, "lamina: no command '%s'; `lamina help` lists them\n", argv[2]);
            return EXIT_USAGE;
        }
        main_help(stdout);
        return EXIT_OK;
    }
    const struct cmd *c = NULL;
    for (size_t i = 0; i < NR_CMDS; i++)
        if (!strcmp(cmds[i].name, name))
            c = &cmds[i];
    if (!c) {
        const char *best = NULL;
        unsigned int bd = 3;
        for (size_t i = 0; i < NR_CMDS; i++) {
            unsigned int d = cfg_edit_distance(name, cmds[i].name);
            if (!cmds[i].hidden && d < bd) {
                bd = d;
                best = cmds[i].name;
            }
        }
        fprintf(stderr, "lamina: unknown command '%s'", name);
        if (best)
            fprintf(stderr, "; did you mean '%s'?", best);
        fprintf(stderr, "\nRun `lamina help` for the list of commands.\n");
        return EXIT_USAGE;
    }
    struct inv iv = { .cmd = c };
    int r = parse_args(&iv, argc - 2, argv + 2);
    if (r)
        return r < 0 ? EXIT_OK : r;
    const char *mname = c->fn == cmd_up ? inv_str(&iv, "name") : NULL;
    if (mname) {
        if (!machine_name_ok(mname))
            return usage_error(&iv, "--name: want 1-32 letters, digits, '-' or '_', got '%s'",
                               mname);
        setenv("LAMINA_MACHINE", mname, 1);
    }
    paths_init();
    return c->fn(&iv);
}
