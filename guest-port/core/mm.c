/*
 * mm.c - the guest kernel's frame allocator and kernel heap.
 *
 * Frames: a bitmap over [first_free_pfn, nr_pfns) kept in the first free
 * frames themselves; next-fit search.  Heap: power-of-two size classes
 * (32..2048 bytes) carved from single frames, larger blocks from
 * contiguous frames.  Runs in the guest kernel, any context: every entry
 * point holds arch_irq_save() while it touches shared state.
 */
#include "kernel.h"

static uint64_t *frame_bitmap;      /* bit set = frame in use */
static uint64_t frame_base;         /* pfn of bit 0 */
static uint64_t frame_count;        /* frames covered by the bitmap */
static uint64_t frame_next;         /* next-fit hint (index) */
static uint64_t frame_free;

static bool bit_test(uint64_t i) { return frame_bitmap[i / 64] >> (i % 64) & 1; }
static void bit_set(uint64_t i) { frame_bitmap[i / 64] |= 1ULL << (i % 64); }
static void bit_clear(uint64_t i) { frame_bitmap[i / 64] &= ~(1ULL << (i % 64)); }

void core_mm_init(const struct arch_boot_info *bi)
{
    if (bi->nr_pfns <= bi->first_free_pfn + 16)
        panic("mm: no free memory (first free pfn %lu, %lu frames)",
              (unsigned long)bi->first_free_pfn, (unsigned long)bi->nr_pfns);
    frame_base = bi->first_free_pfn;
    frame_count = bi->nr_pfns - bi->first_free_pfn;
    uint64_t bitmap_frames = ALIGN_UP(frame_count, GPAGE_SIZE * 8) / (GPAGE_SIZE * 8);
    frame_bitmap = arch_pfn_to_virt(frame_base);
    memset(frame_bitmap, 0, bitmap_frames * GPAGE_SIZE);
    for (uint64_t i = 0; i < bitmap_frames; i++)
        bit_set(i);
    frame_free = frame_count - bitmap_frames;
    frame_next = bitmap_frames;
}

uint64_t core_alloc_frames(size_t n)
{
    if (!n)
        return 0;
    bool flags = arch_irq_save();
    uint64_t found = 0;
    /* Two passes: from the hint to the end, then from the start. */
    for (int pass = 0; pass < 2 && !found; pass++) {
        uint64_t i = pass ? 0 : frame_next;
        while (i + n <= frame_count) {
            size_t k = 0;
            while (k < n && !bit_test(i + k))
                k++;
            if (k == n) {
                for (k = 0; k < n; k++)
                    bit_set(i + k);
                frame_free -= n;
                frame_next = i + n;
                found = frame_base + i;
                break;
            }
            i += k + 1;
        }
    }
    arch_irq_restore(flags);
    if (found)
        memset(arch_pfn_to_virt(found), 0, n * GPAGE_SIZE);
    return found;
}

uint64_t core_alloc_frame(void)
{
    return core_alloc_frames(1);
}

void core_free_frames(uint64_t pfn, size_t n)
{
    bool flags = arch_irq_save();
    for (size_t k = 0; k < n; k++) {
        uint64_t i = pfn + k - frame_base;
        if (pfn + k < frame_base || i >= frame_count || !bit_test(i))
            panic("mm: freeing frame %lu that is not allocated",
                  (unsigned long)(pfn + k));
        bit_clear(i);
        frame_free++;
    }
    arch_irq_restore(flags);
}

void core_free_frame(uint64_t pfn)
{
    core_free_frames(pfn, 1);
}

uint64_t core_free_frame_count(void)
{
    return frame_free;
}

/* ---- heap ------------------------------------------------------------------ */

#define HEAP_MAGIC     0x6b6d616cU
#define HEAP_MIN_SHIFT 5                 /* 32 bytes */
#define HEAP_MAX_SHIFT 11                /* 2048 bytes */
#define HEAP_CLASSES   (HEAP_MAX_SHIFT - HEAP_MIN_SHIFT + 1)

/* Precedes every block; keeps the payload 16-byte aligned. */
struct heap_hdr {
    uint32_t magic;
    uint32_t cls;        /* size class, or HEAP_CLASSES for frame blocks */
    uint64_t frames;     /* frame blocks: how many frames */
};

struct heap_free { struct heap_free *next; };

static struct heap_free *heap_lists[HEAP_CLASSES];

void *kmalloc(size_t size)
{
    size_t need = size + sizeof(struct heap_hdr);
    struct heap_hdr *h;

    if (size > (1UL << 30))
        return NULL;
    if (need > (1UL << HEAP_MAX_SHIFT)) {
        size_t n = ALIGN_UP(need, GPAGE_SIZE) / GPAGE_SIZE;
        uint64_t pfn = core_alloc_frames(n);
        if (!pfn)
            return NULL;
        h = arch_pfn_to_virt(pfn);
        h->magic = HEAP_MAGIC;
        h->cls = HEAP_CLASSES;
        h->frames = n;
        return h + 1;
    }
    unsigned cls = 0;
    while ((1UL << (cls + HEAP_MIN_SHIFT)) < need)
        cls++;
    bool flags = arch_irq_save();
    if (!heap_lists[cls]) {
        arch_irq_restore(flags);
        uint64_t pfn = core_alloc_frame();
        if (!pfn)
            return NULL;
        char *page = arch_pfn_to_virt(pfn);
        size_t bsz = 1UL << (cls + HEAP_MIN_SHIFT);
        flags = arch_irq_save();
        for (size_t off = 0; off + bsz <= GPAGE_SIZE; off += bsz) {
            struct heap_free *f = (struct heap_free *)(page + off);
            f->next = heap_lists[cls];
            heap_lists[cls] = f;
        }
    }
    h = (struct heap_hdr *)heap_lists[cls];
    heap_lists[cls] = heap_lists[cls]->next;
    arch_irq_restore(flags);
    h->magic = HEAP_MAGIC;
    h->cls = cls;
    h->frames = 0;
    return h + 1;
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, size);
    return p;
}

void kfree(void *p)
{
    if (!p)
        return;
    struct heap_hdr *h = (struct heap_hdr *)p - 1;
    if (h->magic != HEAP_MAGIC)
        panic("kfree: bad block %p", p);
    h->magic = 0;
    if (h->cls == HEAP_CLASSES) {
        core_free_frames(arch_virt_to_pfn(h), h->frames);
        return;
    }
    bool flags = arch_irq_save();
    uint32_t cls = h->cls;
    struct heap_free *f = (struct heap_free *)h;
    f->next = heap_lists[cls];
    heap_lists[cls] = f;
    arch_irq_restore(flags);
}
