/*
 * fuzz_xenstore.c - libFuzzer harness for dom0's xenstored
 * (backend-drivers/xenstore/), which reads what any domU writes into its
 * xenstore ring page.  The input is a script of ring writes by guest
 * domain 1: each step puts bytes into the request ring at the guest's
 * producer index (the index itself may be garbage too) and lets
 * xs_ring_service() consume them, so framing, reassembly across the wrap,
 * every request type and the store behind them are fed.  Checks: no crash,
 * over-read or leak (ASan/UBSan); the consumer never runs ahead of the
 * producer unless the ring was declared broken; replies never exceed the
 * response ring.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../backend-drivers/xenstore/xs_tree.c"
#include "../../backend-drivers/xenstore/xenstored.c"
#include "../../backend-drivers/xenstore/xs_store.c"
#include "../../backend-drivers/xenstore/xs_ring.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xs_store *s = xs_store_new(NULL);
    struct xenstore_domain_interface *intf = calloc(1, sizeof(*intf));
    struct xs_conn *c;
    size_t at = 0;

    if (!s || !intf || xs_introduce_domain(s, 1))
        abort();
    c = xs_conn_new(s, 1, NULL, NULL);
    if (!c)
        abort();
    /* Step: [flags][len] then len bytes; flags bit 0: also overwrite
     * req_prod with the next 4 bytes (a hostile index). */
    while (at + 2 <= size) {
        uint8_t flags = data[at], len = data[at + 1];
        at += 2;
        if (len > size - at)
            len = (uint8_t)(size - at);
        for (unsigned int i = 0; i < len; i++)
            intf->req[MASK_XENSTORE_IDX(intf->req_prod + i)] = (char)data[at + i];
        intf->req_prod += len;
        at += len;
        if ((flags & 1) && at + 4 <= size) {
            memcpy((void *)&intf->req_prod, data + at, 4);
            at += 4;
        }
        /* The guest consumes every reply it gets. */
        intf->rsp_cons = intf->rsp_prod;
        (void)xs_ring_service(c, intf);
        if (!xs_conn_broken(c) &&
            (XENSTORE_RING_IDX)(intf->req_prod - intf->req_cons) > XENSTORE_RING_SIZE)
            abort();
        if ((XENSTORE_RING_IDX)(intf->rsp_prod - intf->rsp_cons) > XENSTORE_RING_SIZE)
            abort();
    }
    xs_conn_free(c);
    xs_store_free(s);
    free(intf);
    return 0;
}
