
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdlib.h>
#include <string.h>

#include "lg_metrics.h"
#include "lg_metrics_int.h"


/*
 * Adding one set of counters to another of the same layout, and carrying
 * counters to another layout (a reload's new policy), where series are
 * matched by their label values rather than by position.
 */

static int lg_metrics_takes(const lg_mfam_t *mf, unsigned what);
static uint32_t *lg_metrics_dim_map(const lg_metrics_layout_t *from,
    const lg_metrics_layout_t *to, lg_metrics_dim_e dim);
static uint64_t lg_metrics_hash(const char *s, size_t len);


static int
lg_metrics_takes(const lg_mfam_t *mf, unsigned what)
{
    if (mf->source == LG_SOURCE_SCRAPE) {
        return 0;
    }

    return what == LG_METRICS_ADD_ALL || mf->source == LG_SOURCE_WORKER;
}


void
lg_metrics_add(const lg_metrics_layout_t *layout, uint64_t *dst,
    const uint64_t *src, unsigned what)
{
    size_t            i, n;
    uint64_t          s;
    const lg_mfam_t  *mf;

    for (i = 0; i < LG_MF_LAST; i++) {
        mf = &layout->families[i];

        if (!lg_metrics_takes(mf, what)) {
            continue;
        }

        n = (size_t) mf->nseries * mf->width;

        for (s = mf->base; s < mf->base + n; s++) {
            dst[s] += src[s];
        }
    }
}


size_t
lg_metrics_remap(const lg_metrics_layout_t *from, const uint64_t *src,
    const lg_metrics_layout_t *to, uint64_t *dst, unsigned what)
{
    size_t            i, k, w, carried, series, fseries, fi;
    size_t            index[LG_METRICS_MAX_DIMS];
    uint32_t         *map[LG_DIM_LAST];
    const lg_mfam_t  *tf, *ff;

    if (lg_metrics_layout_equal(from, to)) {
        lg_metrics_add(to, dst, src, what);

        carried = 0;

        for (i = 0; i < LG_MF_LAST; i++) {
            if (lg_metrics_takes(&to->families[i], what)) {
                carried += to->families[i].nseries;
            }
        }

        return carried;
    }

    memset(map, 0, sizeof(map));
    carried = 0;

    for (i = 0; i < LG_MF_LAST; i++) {
        tf = &to->families[i];
        ff = &from->families[i];

        if (!lg_metrics_takes(tf, what) || tf->width != ff->width
            || tf->ndims != ff->ndims
            || memcmp(tf->dims, ff->dims, sizeof(tf->dims)) != 0)
        {
            continue;
        }

        for (k = 0; k < tf->ndims; k++) {
            if (map[tf->dims[k]] == NULL) {
                map[tf->dims[k]] = lg_metrics_dim_map(from, to, tf->dims[k]);

                if (map[tf->dims[k]] == NULL) {
                    carried = (size_t) -1;
                    goto done;
                }
            }

            index[k] = 0;
        }

        /* every series of "to", its indexes counted like an odometer */

        for (series = 0; series < tf->nseries; series++) {

            fseries = 0;

            for (k = 0; k < tf->ndims; k++) {
                fi = map[tf->dims[k]][index[k]];

                if (fi == UINT32_MAX) {
                    break;
                }

                fseries = fseries * from->dims[ff->dims[k]].n + fi;
            }

            if (k == tf->ndims) {
                for (w = 0; w < tf->width; w++) {
                    dst[tf->base + series * tf->width + w] +=
                                    src[ff->base + fseries * ff->width + w];
                }

                carried++;
            }

            for (k = tf->ndims; k-- > 0; /* void */) {
                if (++index[k] < to->dims[tf->dims[k]].n) {
                    break;
                }

                index[k] = 0;
            }
        }
    }

done:

    for (i = 0; i < LG_DIM_LAST; i++) {
        free(map[i]);
    }

    return carried;
}


/*
 * map[i] is the index in "from" of value i of "to" (UINT32_MAX: none),
 * matched on the escaped label text, which holds every label of the
 * value.  An open-addressing table over "from" keeps it linear.
 */

static uint32_t *
lg_metrics_dim_map(const lg_metrics_layout_t *from,
    const lg_metrics_layout_t *to, lg_metrics_dim_e dim)
{
    size_t              i, j, size, mask, nfrom, nto;
    uint32_t           *map, *table;
    const lg_mvalue_t  *a, *b;

    nfrom = from->dims[dim].n;
    nto = to->dims[dim].n;

    map = malloc(nto * sizeof(uint32_t));
    if (map == NULL) {
        return NULL;
    }

    for (size = 16; size < nfrom * 2; size *= 2) { /* void */ }

    table = malloc(size * sizeof(uint32_t));
    if (table == NULL) {
        free(map);
        return NULL;
    }

    memset(table, 0xff, size * sizeof(uint32_t));
    mask = size - 1;

    for (i = 0; i < nfrom; i++) {
        a = lg_metrics_value(from, dim, i);
        j = lg_metrics_hash(lg_metrics_frag(a), a->frag_len) & mask;

        while (table[j] != UINT32_MAX) {
            j = (j + 1) & mask;
        }

        table[j] = (uint32_t) i;
    }

    for (i = 0; i < nto; i++) {
        b = lg_metrics_value(to, dim, i);
        j = lg_metrics_hash(lg_metrics_frag(b), b->frag_len) & mask;
        map[i] = UINT32_MAX;

        while (table[j] != UINT32_MAX) {
            a = lg_metrics_value(from, dim, table[j]);

            if (a->frag_len == b->frag_len
                && memcmp(lg_metrics_frag(a), lg_metrics_frag(b),
                          a->frag_len) == 0)
            {
                map[i] = table[j];
                break;
            }

            j = (j + 1) & mask;
        }
    }

    free(table);

    return map;
}


static uint64_t
lg_metrics_hash(const char *s, size_t len)
{
    size_t    i;
    uint64_t  h;

    /* FNV-1a */

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 0x100000001b3ULL;
    }

    return h;
}


/* zero-filled, 8-byte aligned; 0 and b->failed on failure */
