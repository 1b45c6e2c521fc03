/*
 * test_cfg.c - host tests of the `lamina create` configuration parser
 * (toolstack/cli/cfg.c): values, defaults, and that every error names
 * FILE:LINE and says what to do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../toolstack/cli/cfg.c"
#include "../../toolstack/cli/cfg_vif.c"

static struct lamina_cfg cfg;
static char err[1024];

static int parse(const char *text)
{
    memset(err, 0, sizeof(err));
    return cfg_parse(text, strlen(text), "t.cfg", "/etc/lamina", &cfg, err, sizeof(err));
}

/* expect_error - parsing text fails with a message holding each fragment. */
static void expect_error(const char *text, const char *frag1, const char *frag2)
{
    assert_int_equal(parse(text), -1);
    if (!strstr(err, frag1) || (frag2 && !strstr(err, frag2)))
        fail_msg("error \"%s\" lacks \"%s\"%s%s", err, frag1, frag2 ? " / " : "",
                 frag2 ? frag2 : "");
}

static void test_full(void **state)
{
    (void)state;
    assert_int_equal(parse("# a guest\n"
                           "name = \"pv-guest\"\n"
                           "type = 'pv'   # comment after a value\n"
                           "kernel = \"../build/guest-pv.elf\"\n"
                           "cmdline = \"service x=1 \\\"q\\\"\"\n"
                           "memory = 48\n"
                           "vcpus = 1;\n"
                           "on_crash = \"restart\"\n"
                           "on_poweroff = \"destroy\"\n"
                           "on_reboot = \"restart\"\n"), 0);
    assert_string_equal(cfg.name, "pv-guest");
    assert_int_equal(cfg.unmodified, 0);
    assert_string_equal(cfg.kernel, "/etc/lamina/../build/guest-pv.elf");
    assert_int_equal(cfg.kernel_line, 4);
    assert_string_equal(cfg.cmdline, "service x=1 \"q\"");
    assert_int_equal(cfg.memory_mib, 48);
    assert_int_equal(cfg.vcpus, 1);
    assert_int_equal(cfg.on_crash, CFG_CRASH_RESTART);
}

static void test_defaults_and_alias(void **state)
{
    (void)state;
    assert_int_equal(parse("name='n1'\r\nkernel='/abs/k.elf'\r\nextra=\"service\"\r\n"
                           "type = \"unmodified\""), 0);
    assert_string_equal(cfg.kernel, "/abs/k.elf");
    assert_string_equal(cfg.cmdline, "service");
    assert_int_equal(cfg.memory_mib, 32);
    assert_int_equal(cfg.vcpus, 1);
    assert_int_equal(cfg.unmodified, 1);
    assert_int_equal(cfg.on_crash, CFG_CRASH_DESTROY);
    assert_string_equal(cfg_on_crash_name(cfg.on_crash), "destroy");
}

static void test_no_dir_keeps_path(void **state)
{
    (void)state;
    const char *t = "name=\"a\"\nkernel=\"k.elf\"\n";
    assert_int_equal(cfg_parse(t, strlen(t), "x", NULL, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.kernel, "k.elf");
    assert_string_equal(cfg.cmdline, "");
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    char buf[] = "name=\"abc\"\nkernel=\"k\"XXXX";
    assert_int_equal(cfg_parse(buf, strlen(buf) - 4, "x", "", &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.kernel, "k");
}

static void test_list_value(void **state)
{
    (void)state;
    /* lists parse (across lines) but no key takes one: a type error */
    expect_error("name = \"a\"\nkernel = [ \"x\",\n  \"y\", ]\n", "t.cfg:2:", "must be a string");
    expect_error("name = \"a\"\nkernel = [ \"x\"\n", "t.cfg:2:", "unterminated list");
}

/* disk = [ ... ]: xl's keyed and positional forms, the checks. */
static void test_disks(void **state)
{
    struct cfg_disk d;
    (void)state;
    assert_int_equal(parse("name = \"a\"\nkernel = \"k\"\n"
                           "disk = [ \"format=raw, vdev=xvda, access=rw, target=img/a,b.img\",\n"
                           "         \"/abs/b.img,raw,xvdb,ro\" ]\n"), 0);
    assert_int_equal(cfg.nr_disks, 2);
    assert_string_equal(cfg.disk[0].target, "/etc/lamina/img/a,b.img");   /* target= takes the rest */
    assert_string_equal(cfg.disk[0].vdev, "xvda");
    assert_int_equal(cfg.disk[0].devid, 51712);
    assert_int_equal(cfg.disk[0].readonly, 0);
    assert_int_equal(cfg.disk[0].line, 3);
    assert_string_equal(cfg.disk[1].target, "/abs/b.img");
    assert_int_equal(cfg.disk[1].devid, 51728);
    assert_int_equal(cfg.disk[1].readonly, 1);
    assert_int_equal(cfg.disk[1].line, 4);
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"a.img,qcow2,xvda,rw\" ]\n",
                 "t.cfg:3: disk 1:", "format=qcow2 is not supported");
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"a.img,raw,sda,rw\" ]\n",
                 "t.cfg:3: disk 1:", "use xvda .. xvdp");
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"a.img,raw,xvda,rx\" ]\n",
                 "access=rx is not valid", NULL);
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"vdev=xvda\" ]\n", "no target", NULL);
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"a.img,raw,xvda,rw,x\" ]\n",
                 "too many positional", NULL);
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"a.img,raw,xvda\",\n \"b.img,raw,xvda\" ]\n",
                 "t.cfg:4: disk 2: vdev xvda is used twice (also line 3)", NULL);
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = \"a.img\"\n", "'disk' must be a list", NULL);
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"bogus=1, target=a\" ]\n",
                 "unknown disk parameter 'bogus'", NULL);
    expect_error("name = \"a\"\nkernel = \"k\"\ndisk = [ \"a,raw,xvda\", \"b,raw,xvdb\", \"c,raw,xvdc\","
                 " \"d,raw,xvdd\", \"e,raw,xvde\" ]\n", "5 disks; a domain may have at most 4", NULL);
    /* The attach form, with no cfg around it. */
    assert_int_equal(cfg_parse_disk("x.img,raw,xvdp", "", &d, err, sizeof(err)), 0);
    assert_string_equal(d.target, "x.img");
    assert_int_equal(d.devid, 202u << 8 | 15u << 4);
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_error("name = \"a\"\nmemroy = 32\n", "t.cfg:2:", "did you mean 'memory'");
    expect_error("kernal = \"k\"\n", "t.cfg:1:", "did you mean 'kernel'");
    expect_error("name = \"a\"\n\n\nfrobnicate = 1\n", "t.cfg:4: unknown key 'frobnicate'",
                 "known keys");
}

/* A real xl.cfg: xl's keys Lamina does not act on are parsed (any value
 * shape) and listed once; a typo is still an error. */
static void test_xl_keys_ignored(void **state)
{
    (void)state;
    assert_int_equal(parse("name = \"g\"\nuuid = \"6e5c-1\"\nkernel = \"k\"\n"
                           "maxmem = 64\ncpus = \"0-3\"\nvfb = [ \"vnc=1\", \"sdl=0\" ]\n"
                           "memory = 16\n"), 0);
    assert_string_equal(cfg.ignored, "uuid (line 2), maxmem (line 4), cpus (line 5), "
                                     "vfb (line 6)");
    assert_int_equal(cfg.memory_mib, 16);
    assert_int_equal(parse("name = \"g\"\nkernel = \"k\"\n"), 0);
    assert_string_equal(cfg.ignored, "");
    expect_error("name = \"g\"\nkernel = \"k\"\ncpu = 2\n", "t.cfg:3:", "did you mean");
    expect_error("name = \"g\"\nkernel = \"k\"\nuuid 3\n", "t.cfg:3:", "expected '='");
    expect_error("name = \"g\"\nkernel = \"k\"\nuuid = \"a\" memory\n", "t.cfg:3:",
                 "unexpected text after the value of 'uuid'");
}

/* xl create's KEY=VALUE overrides: later than the file, they win; a bad
 * one is named by its position. */
static void test_overrides(void **state)
{
    const char *f = "name = \"g\"\nkernel = \"k\"\nmemory = 16\ncmdline = \"a\"\n";
    const char *kv[] = { "memory=64", "name=\"h\"", "extra=\"b\"" };

    (void)state;
    assert_int_equal(cfg_parse_overrides(f, strlen(f), kv, 3, "t.cfg", "", &cfg, err,
                                         sizeof(err)), 0);
    assert_int_equal(cfg.memory_mib, 64);
    assert_string_equal(cfg.name, "h");
    assert_string_equal(cfg.cmdline, "b");
    const char *bad[] = { "memory=64", "memory=32" };
    assert_int_equal(cfg_parse_overrides(f, strlen(f), bad, 2, "t.cfg", "", &cfg, err,
                                         sizeof(err)), -1);
    assert_non_null(strstr(err, "command line argument 2: duplicate key 'memory'"));
    const char *noeq[] = { "memory" };
    assert_int_equal(cfg_parse_overrides(f, strlen(f), noeq, 1, "t.cfg", "", &cfg, err,
                                         sizeof(err)), -1);
    assert_non_null(strstr(err, "not KEY=VALUE"));
    /* Without overrides a duplicate in the file is still an error. */
    const char *dup = "name = \"g\"\nname = \"h\"\nkernel = \"k\"\n";
    assert_int_equal(cfg_parse_overrides(dup, strlen(dup), NULL, 0, "t.cfg", "", &cfg, err,
                                         sizeof(err)), -1);
    assert_non_null(strstr(err, "t.cfg:2: duplicate key 'name'"));
}

static void test_wrong_type(void **state)
{
    (void)state;
    expect_error("name = \"a\"\nmemory = \"32\"\n", "t.cfg:2:", "must be an integer");
    expect_error("name = 5\n", "t.cfg:1:", "must be a string");
    expect_error("name = pv\n", "t.cfg:1:", "put strings in quotes");
    expect_error("memory = 32M\n", "t.cfg:1:", "not an integer");
    expect_error("memory = 0\n", "t.cfg:1:", "out of range");
    expect_error("vcpus = 2\n", "t.cfg:1:", "exactly one vCPU");
    /* Below the kind's minimum: refused with the minimum named. */
    expect_error("name = \"a\"\ntype = \"unmodified\"\nkernel = \"k\"\nmemory = 8\n",
                 "t.cfg:4:", "minimum for an unmodified domain, 16 MiB");
    expect_error("name = \"a\"\nmemory = 2\nkernel = \"k\"\n",
                 "t.cfg:2:", "minimum for a PV domain, 4 MiB");
    expect_error("type = \"hvm\"\n", "t.cfg:1:", "\"unmodified\"");
    expect_error("type = \"xyz\"\n", "t.cfg:1:", "unknown type");
    expect_error("on_crash = \"explode\"\n", "t.cfg:1:", "\"restart\"");
    expect_error("on_reboot = \"destroy\"\n", "t.cfg:1:", "not supported");
    expect_error("name = \"12\"\n", "t.cfg:1:", "all digits");
    expect_error("name = \"a b\"\n", "t.cfg:1:", "only letters");
    expect_error("name = \"\"\n", "t.cfg:1:", "empty");
}

static void test_missing_and_duplicate(void **state)
{
    (void)state;
    expect_error("kernel = \"k\"\n", "t.cfg: missing required key 'name'", NULL);
    expect_error("name = \"a\"\n", "missing required key 'kernel'", NULL);
    expect_error("name = \"a\"\nkernel=\"k\"\nname = \"b\"\n", "t.cfg:3:",
                 "duplicate key 'name' (first set on line 1)");
    expect_error("name=\"a\"\nkernel=\"k\"\ncmdline=\"x\"\nextra=\"y\"\n", "t.cfg:4:",
                 "keep one");
}

static void test_syntax(void **state)
{
    (void)state;
    expect_error("name = \"abc\nkernel = \"k\"\n", "t.cfg:1:", "unterminated string");
    expect_error("name = 'abc", "t.cfg:1:", "unterminated string");
    expect_error("name \"a\"\n", "t.cfg:1:", "expected '='");
    expect_error("name =\n", "t.cfg:1:", "missing value");
    expect_error("name = \"a\" \"b\"\n", "t.cfg:1:", "one key = value per line");
    expect_error("\n\n= 3\n", "t.cfg:3:", "expected a key");
    expect_error("name = \"a\\q\"\n", "t.cfg:1:", "unknown escape");
    expect_error("name = \"a\"\n@\n", "t.cfg:2:", "unexpected character");
    char nul[] = "name = \"a\"\0\n";
    assert_int_equal(cfg_parse(nul, sizeof(nul) - 1, "t.cfg", "", &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
}

/* vif specs (cfg_vif.c): xl's keys, rates, Lamina's forward, the errors. */
static void test_vifs(void **state)
{
    struct cfg_vif v;
    char e[512];

    (void)state;
    assert_int_equal(cfg_parse_vif("mac=00:16:3e:01:02:03, bridge=xenbr0, ip=10.0.2.20, "
                                   "rate=100Mb/s, forward=8080:80, forward=2222:22", &v, e,
                                   sizeof(e)), 0);
    assert_true(v.has_mac);
    assert_int_equal(v.mac[5], 3);
    assert_string_equal(v.ip, "10.0.2.20");
    assert_int_equal(v.rate_usec, 50000);                 /* libxl's default period */
    assert_int_equal(v.rate_bytes, 625000);               /* 100e6 / 8 * 0.05 */
    assert_int_equal(v.nr_fwds, 2);
    assert_int_equal(v.fwd_host[1], 2222);
    assert_int_equal(v.fwd_guest[1], 22);
    assert_int_equal(cfg_parse_vif("rate=10MB/s@20ms", &v, e, sizeof(e)), 0);
    assert_int_equal(v.rate_bytes, 200000);
    assert_int_equal(v.rate_usec, 20000);
    assert_int_equal(cfg_parse_vif("", &v, e, sizeof(e)), 0);
    assert_false(v.has_mac);
    assert_string_equal(v.ip, "");

    static const struct { const char *spec, *msg; } bad[] = {
        { "bridge=xenbr1", "no such bridge; dom0 has one bridge, xenbr0" },
        { "mac=00:16:3e:00:00", "is not a MAC address" },
        { "mac=01:16:3e:00:00:01", "multicast" },
        { "ip=10.0.2.300", "is not an IPv4 address" },
        { "rate=fast", "is not a rate" },
        { "rate=100Mb", "is not a rate" },
        { "forward=80", "write HOSTPORT:GUESTPORT" },
        { "forward=8080:80", "forward= needs the guest's address" },
        { "colour=blue", "unknown vif parameter 'colour'" },
        { "backend=3", "served by dom0 only" },
    };
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e[0] = 0;
        assert_int_equal(cfg_parse_vif(bad[i].spec, &v, e, sizeof(e)), -1);
        if (!strstr(e, bad[i].msg))
            fail_msg("'%s': got '%s', want '%s'", bad[i].spec, e, bad[i].msg);
    }
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(cfg_edit_distance("memory", "memory"), 0);
    assert_int_equal(cfg_edit_distance("memroy", "memory"), 2);
    assert_int_equal(cfg_edit_distance("", "abc"), 3);
    assert_int_equal(cfg_edit_distance("kernal", "kernel"), 1);
    assert_int_equal(cfg_edit_distance("NAME", "name"), 0);
}

static void test_small_err_buffer(void **state)
{
    (void)state;
    char small[8];
    const char *t = "bogus = 1\n";
    assert_int_equal(cfg_parse(t, strlen(t), "t.cfg", "", &cfg, small, sizeof(small)), -1);
    assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults_and_alias),
        cmocka_unit_test(test_no_dir_keeps_path),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_list_value),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_vifs),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_xl_keys_ignored),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_missing_and_duplicate),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_small_err_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
