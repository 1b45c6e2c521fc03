/*
 * heap_stub.h - the hypervisor heap (mm/vmap.c: xzalloc_bytes, xfree) for
 * unit tests that compile code allocating from it (domain.c, shadow.c):
 * calloc and free, so the frame counts the tests check are those of the
 * frame allocator alone.  Included once, after the hypervisor sources.
 */
#ifndef HEAP_STUB_H
#define HEAP_STUB_H
#include <stdlib.h>

void *xzalloc_bytes(size_t bytes)
{
    return calloc(1, bytes ? bytes : 1);
}

void xfree(void *p)
{
    free(p);
}

void *vzalloc(size_t bytes)
{
    return calloc(1, bytes ? bytes : 1);
}

void vfree(void *p)
{
    free(p);
}
#endif
