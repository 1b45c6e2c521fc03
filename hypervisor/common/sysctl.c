/*
 * sysctl.c - XEN_SYSCTL_* (__HYPERVISOR_sysctl, Xen public/sysctl.h) for
 * dom0's toolstack: readconsole (the hypervisor log ring, conring.c),
 * physinfo and getdomaininfolist.
 *
 * Runs in ring 0 with interrupts off, on behalf of the current vCPU, which
 * must be privileged (dom0).  Also compiled by tests/unit/test_domctl.c.
 */
#include "common/xen_tools.h"
#include "common/hv.h"
#include "common/grant_table.h"
#include <lamina/sysctl_ext.h>
#include "common/guest_access.h"

void sysctl_physinfo(struct xen_sysctl_physinfo *pi)
{
    memset(pi, 0, sizeof(*pi));
    pi->threads_per_core = 1;
    pi->cores_per_socket = 1;
    pi->nr_cpus = 1;
    pi->max_cpu_id = 0;
    pi->nr_nodes = 1;
    pi->max_node_id = 0;
    pi->cpu_khz = (uint32_t)tsc_khz;
    pi->capabilities = XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_hvm;
    pi->total_pages = total_pages;
    pi->free_pages = mm_free_frames();
    pi->max_mfn = max_mfn ? max_mfn - 1 : 0;
}

long do_sysctl(uint64_t arg)
{
    static struct xen_sysctl sc;        /* the hypervisor is not reentrant */
    long rc = 0;

    if (!current || !current->domain->is_privileged)
        return -XEN_EPERM;
    if (copy_from_guest(&sc, arg, sizeof(sc)))
        return -XEN_EFAULT;
    if (sc.interface_version != XEN_SYSCTL_INTERFACE_VERSION)
        return -XEN_EACCES;

    switch (sc.cmd) {
    case XEN_SYSCTL_readconsole: {
        struct xen_sysctl_readconsole *r = &sc.u.readconsole;
        rc = conring_read((uint64_t)(uintptr_t)r->buffer.p, &r->count, &r->index, r->clear, r->incremental);
        break;
    }
    case XEN_SYSCTL_physinfo:
        sysctl_physinfo(&sc.u.physinfo);
        break;
    case XEN_SYSCTL_getdomaininfolist: {
        struct xen_sysctl_getdomaininfolist *l = &sc.u.getdomaininfolist;
        struct xen_domctl_getdomaininfo info;
        unsigned int n = 0;
        struct domain *d;
        for (unsigned int id = l->first_domain; n < l->max_domains &&
             (d = domctl_first_domain_from(id)); id = d->domain_id + 1) {
            domctl_getdomaininfo(d, &info);
            if (copy_to_guest((uint64_t)(uintptr_t)l->buffer.p + n * sizeof(info), &info, sizeof(info)))
                return -XEN_EFAULT;
            n++;
        }
        l->num_domains = n;
        break;
    }
    case LAMINA_SYSCTL_counters: {
        struct lamina_sysctl_counters *c = (void *)&sc.u;

        _Static_assert(sizeof(*c) <= sizeof(sc.u), "counters fit the sysctl union");
        memset(c, 0, sizeof(*c));
        c->grant_maps = gnttab_counters.maps;
        c->grant_frames = gnttab_counters.frames;
        c->maptrack_frames = gnttab_counters.maptrack_frames;
        c->free_pages = mm_free_frames();
        c->domains = domain_count();
        break;
    }
    default:
        return -XEN_ENOSYS;
    }
    if (!rc && copy_to_guest(arg, &sc, sizeof(sc)))
        return -XEN_EFAULT;
    return rc;
}
