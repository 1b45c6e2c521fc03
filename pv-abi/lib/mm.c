/*
 * mm.c - batched page-table updates, pinning and base pointers for PV
 * guests (mmu_update, mmuext_op, update_va_mapping, multicall).
 * Runs in a PV guest kernel.
 */
#include <pv/mm.h>

unsigned long *pv_p2m;
unsigned long pv_p2m_nr;

void pv_mmu_queue_pte(struct pv_mmu_batch *b, uint64_t pte_ma, uint64_t val)
{
    b->req[b->n].ptr = (pte_ma & ~7ULL) | MMU_NORMAL_PT_UPDATE;
    b->req[b->n].val = val;
    if (++b->n == PV_MMU_BATCH)
        (void)pv_mmu_flush(b);
}

void pv_mmu_queue_m2p(struct pv_mmu_batch *b, unsigned long mfn, unsigned long pfn)
{
    b->req[b->n].ptr = ((uint64_t)mfn << PV_PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
    b->req[b->n].val = pfn;
    if (++b->n == PV_MMU_BATCH)
        (void)pv_mmu_flush(b);
}

int pv_mmu_flush(struct pv_mmu_batch *b)
{
    if (b->n > 0) {
        unsigned int done = 0;
        int rc = HYPERVISOR_mmu_update(b->req, b->n, &done, DOMID_SELF);

        if (rc < 0 && b->err == 0)
            b->err = rc;
        b->n = 0;
    }
    return b->err;
}

static int mmuext1(unsigned int cmd, unsigned long arg1)
{
    struct mmuext_op op = { .cmd = cmd };

    op.arg1.mfn = arg1;
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

int pv_pin_table(unsigned int level, unsigned long mfn)
{
    static const unsigned int cmd[5] = {
        0, MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L4_TABLE,
    };

    if (level < 1 || level > 4)
        return -XEN_EINVAL;
    return mmuext1(cmd[level], mfn);
}

int pv_unpin_table(unsigned long mfn)
{
    return mmuext1(MMUEXT_UNPIN_TABLE, mfn);
}

int pv_new_baseptr(unsigned long mfn)
{
    return mmuext1(MMUEXT_NEW_BASEPTR, mfn);
}

int pv_new_user_baseptr(unsigned long mfn)
{
    return mmuext1(MMUEXT_NEW_USER_BASEPTR, mfn);
}

int pv_tlb_flush_local(void)
{
    return mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
}

int pv_invlpg_local(unsigned long va)
{
    struct mmuext_op op = { .cmd = MMUEXT_INVLPG_LOCAL };

    op.arg1.linear_addr = va;
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

int pv_update_va_mapping(unsigned long va, uint64_t pte, unsigned long flags)
{
    return HYPERVISOR_update_va_mapping(va, pte, flags);
}

void pv_mc_queue_va_mapping(struct pv_mc_batch *b, unsigned long va, uint64_t pte,
                            unsigned long flags)
{
    pv_multicall_set(&b->mc[b->n], __HYPERVISOR_update_va_mapping, va, pte, flags, 0, 0, 0);
    if (++b->n == PV_MC_BATCH)
        (void)pv_mc_flush(b);
}

int pv_mc_flush(struct pv_mc_batch *b)
{
    if (b->n > 0) {
        int rc = HYPERVISOR_multicall(b->mc, b->n);

        if (rc < 0 && b->err == 0)
            b->err = rc;
        for (unsigned int i = 0; i < b->n && b->err == 0; i++)
            if ((long)b->mc[i].result < 0)
                b->err = (int)(long)b->mc[i].result;
        b->n = 0;
    }
    return b->err;
}
