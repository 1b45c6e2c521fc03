/*
 * domains.c - registry of the domains the agent created (dom0).
 *
 * Runs in dom0 (toolstack agent thread only).  A fixed table: the agent
 * manages at most DOM_MAX domains at a time.  Domains built from the same
 * kernel image share one copy of it (dom_image_share).
 */
#include "kernel.h"
#include "domains.h"

static struct dom_entry doms[DOM_MAX];

struct dom_entry *dom_alloc(void)
{
    for (size_t i = 0; i < DOM_MAX; i++) {
        if (!doms[i].used) {
            memset(&doms[i], 0, sizeof(doms[i]));
            doms[i].used = true;
            return &doms[i];
        }
    }
    return NULL;
}

/* True when an entry other than d holds image. */
static bool image_shared(const struct dom_entry *d, const void *image)
{
    for (size_t i = 0; i < DOM_MAX; i++)
        if (doms[i].used && &doms[i] != d && doms[i].image == image)
            return true;
    return false;
}

void *dom_image_share(void *image, size_t len)
{
    for (size_t i = 0; i < DOM_MAX; i++)
        if (doms[i].used && doms[i].image && doms[i].image != image &&
            doms[i].image_len == len && !memcmp(doms[i].image, image, len)) {
            kfree(image);
            return doms[i].image;
        }
    return image;
}

void dom_free(struct dom_entry *d)
{
    if (!image_shared(d, d->image))
        kfree(d->image);
    memset(d, 0, sizeof(*d));
}

struct dom_entry *dom_by_id(uint32_t domid)
{
    for (size_t i = 0; i < DOM_MAX; i++)
        if (doms[i].used && doms[i].domid == domid)
            return &doms[i];
    return NULL;
}

struct dom_entry *dom_by_name(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < DOM_MAX; i++)
        if (doms[i].used && strlen(doms[i].cfg.name) == n &&
            !memcmp(doms[i].cfg.name, name, n))
            return &doms[i];
    return NULL;
}

struct dom_entry *dom_next(struct dom_entry *d)
{
    size_t i = d ? (size_t)(d - doms) + 1 : 0;

    for (; i < DOM_MAX; i++)
        if (doms[i].used)
            return &doms[i];
    return NULL;
}

bool dom_name_valid(const char *name)
{
    size_t n = strlen(name);
    bool digits_only = true;

    if (n == 0 || n >= DOM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool digit = c >= '0' && c <= '9';
        if (!(digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '.' || c == '-'))
            return false;
        digits_only = digits_only && digit;
    }
    return !digits_only && !(n == 8 && !memcmp(name, "Domain-0", 8));
}
