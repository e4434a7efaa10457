
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <string.h>

#include "lg_keys.h"


#define LG_KEY_PREFIX  "lg:{"


typedef struct {
    const char  *name;              /* what follows "lg:{<partner>}:" */
    size_t       len;
    unsigned     arg:1;             /* ":<argument>" follows the name */
} lg_key_kind_t;


#define lg_key_kind(name, arg)  { name, sizeof(name) - 1, arg }

/* indexed by lg_key_e */

static const lg_key_kind_t  lg_key_kinds[] = {
    lg_key_kind("rl", 0),                       /* LG_KEY_RATE */
    lg_key_kind("rl", 1),                       /* LG_KEY_ROUTE_RATE */
    lg_key_kind("suspended", 0),                /* LG_KEY_SUSPENDED */
    lg_key_kind("jti", 1),                      /* LG_KEY_JTI */
    lg_key_kind("idem", 1),                     /* LG_KEY_IDEM */
    lg_key_kind("wh", 1),                       /* LG_KEY_WEBHOOK */
};


size_t
lg_key_len(lg_key_e kind, size_t partner_len, size_t arg_len)
{
    const lg_key_kind_t  *k;

    if ((size_t) kind >= sizeof(lg_key_kinds) / sizeof(lg_key_kinds[0])) {
        return 0;
    }

    k = &lg_key_kinds[kind];

    /* "lg:{" partner "}:" name [":" arg] */

    return sizeof(LG_KEY_PREFIX) - 1 + partner_len + 2 + k->len
           + (k->arg ? 1 + arg_len : 0);
}


size_t
lg_key_build(char *buf, size_t size, lg_key_e kind, const char *partner,
    size_t partner_len, const char *arg, size_t arg_len)
{
    char                 *p;
    size_t                len;
    const lg_key_kind_t  *k;

    len = lg_key_len(kind, partner_len, arg_len);

    if (len == 0 || size < len || partner_len == 0
        || memchr(partner, '{', partner_len) != NULL
        || memchr(partner, '}', partner_len) != NULL)
    {
        return 0;
    }

    k = &lg_key_kinds[kind];
    p = buf;

    memcpy(p, LG_KEY_PREFIX, sizeof(LG_KEY_PREFIX) - 1);
    p += sizeof(LG_KEY_PREFIX) - 1;

    memcpy(p, partner, partner_len);
    p += partner_len;

    *p++ = '}';
    *p++ = ':';

    memcpy(p, k->name, k->len);
    p += k->len;

    if (k->arg) {
        *p++ = ':';

        if (arg_len > 0) {
            memcpy(p, arg, arg_len);
            p += arg_len;
        }
    }

    if (size > len) {
        *p = '\0';
    }

    return len;
}
