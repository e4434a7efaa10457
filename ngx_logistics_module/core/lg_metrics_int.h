
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_METRICS_INT_H_INCLUDED_
#define _LG_METRICS_INT_H_INCLUDED_


/*
 * The layout block, shared by lg_metrics.c (which builds, checks and
 * remaps it) and lg_metrics_render.c (which writes it out).  Offsets are
 * from the start of the block, so a copy in shared memory is as good as
 * the original in any process.
 */

#include <stdint.h>

#include "lg_metrics.h"


#define LG_METRICS_MAGIC        0x314d474cU  /* "LGM1" */
#define LG_METRICS_PER_PARTNER  0x01


/* a dimension: n values, each a record at values[i] */

typedef struct {
    uint32_t            n;
    uint32_t            nlabels;     /* 1, or 2 (route and version) */
    uint32_t            values;      /* offset of uint32_t[n] */
} lg_mdim_t;


/*
 * A value record: the escaped label text ready for the exposition,
 * 'partner="acme"' or 'route="a.b",version="v2"', then the raw values
 * (for the JSON view and remapping), each NUL-terminated.
 */

typedef struct {
    uint32_t            frag_len;
    uint32_t            raw_len[2];
    /* char frag[frag_len + 1], raw0[raw_len[0] + 1], raw1[...] */
} lg_mvalue_t;


typedef struct {
    uint32_t            name;        /* offset of the family name */
    uint32_t            type;
    uint32_t            source;
    uint32_t            ndims;
    uint32_t            dims[LG_METRICS_MAX_DIMS];
    uint32_t            width;       /* slots per series */
    uint32_t            nseries;
    uint64_t            base;        /* first slot */
} lg_mfam_t;


struct lg_metrics_layout_s {
    uint32_t            magic;
    uint32_t            size;        /* of the whole block */
    uint32_t            flags;
    uint32_t            nfamilies;   /* LG_MF_LAST of the writer */
    uint32_t            ndims;       /* LG_DIM_LAST of the writer */
    uint32_t            nroutes;
    uint32_t            route_base;  /* offset of uint32_t[nroutes] */
    uint32_t            pad;
    uint64_t            nslots;
    lg_mdim_t           dims[LG_DIM_LAST];
    lg_mfam_t           families[LG_MF_LAST];
};


static inline const char *
lg_metrics_at(const lg_metrics_layout_t *layout, uint32_t offset)
{
    return (const char *) layout + offset;
}


static inline const lg_mvalue_t *
lg_metrics_value(const lg_metrics_layout_t *layout, lg_metrics_dim_e dim,
    size_t i)
{
    const uint32_t  *values;

    values = (const uint32_t *) lg_metrics_at(layout,
                                              layout->dims[dim].values);

    return (const lg_mvalue_t *) lg_metrics_at(layout, values[i]);
}


static inline const char *
lg_metrics_frag(const lg_mvalue_t *v)
{
    return (const char *) (v + 1);
}


static inline const char *
lg_metrics_raw(const lg_mvalue_t *v, size_t label)
{
    const char  *p;

    p = (const char *) (v + 1) + v->frag_len + 1;

    if (label > 0) {
        p += v->raw_len[0] + 1;
    }

    return p;
}


#endif /* _LG_METRICS_INT_H_INCLUDED_ */
