
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The root file's own settings: "fail_mode", "validation" and
 * "idempotency".  Only the root file may hold them, and they compile
 * before any included file is read.
 */

#include <stdio.h>
#include <string.h>

#include "lg_policy_int.h"


static int lg_idempotency_px(lg_compile_t *c);


static const char *const  lg_validation_fields[] = {
    "format_assertion", "strict_schemas", "max_errors", "max_body_size", NULL
};

static const char *const  lg_idempotency_fields[] = {
    "ttl", "lock_ttl", "max_response_size", "store_size", NULL
};


/*
 * What the gateway does when the shared state store (Redis) cannot be
 * reached: "open" keeps limiting in local shared memory, "closed" refuses
 * with 503.  A location can override it (logistics_fail_mode).
 */

int
lg_compile_fail_mode(lg_compile_t *c)
{
    lg_str_t  mode;

    c->policy->fail_mode = LG_FAIL_OPEN;

    if (lg_get_string(c, c->docs[0].json, "fail_mode", 0, &mode) != 0) {
        return -1;
    }

    if (mode.data == NULL || strcmp(mode.data, "open") == 0) {
        return 0;
    }

    if (strcmp(mode.data, "closed") == 0) {
        c->policy->fail_mode = LG_FAIL_CLOSED;
        return 0;
    }

    lg_json_path_key(&c->path, "fail_mode");

    return lg_fail(c, "must be \"open\" or \"closed\"");
}


/* "strict_secret_files": true makes a secret file others can read an error */

int
lg_compile_secret_files(lg_compile_t *c)
{
    json_t  *v;

    v = json_object_get(c->docs[0].json, "strict_secret_files");

    if (v == NULL) {
        return 0;
    }

    if (!json_is_boolean(v)) {
        lg_json_path_key(&c->path, "strict_secret_files");
        return lg_fail(c, "must be true or false");
    }

    c->policy->strict_secret_files = json_is_true(v);

    return 0;
}


/*
 * Fail-open is for rate limits only: a suspension or a revoked token is
 * refused from the copies this node has seen ("local", the default), or
 * every request that needs the check gets 503 ("closed").
 */

int
lg_compile_revocation_fail_mode(lg_compile_t *c)
{
    lg_str_t  mode;

    c->policy->revocation_fail_mode = LG_REVOCATION_LOCAL;

    if (lg_get_string(c, c->docs[0].json, "revocation_fail_mode", 0, &mode)
        != 0)
    {
        return -1;
    }

    if (mode.data == NULL || strcmp(mode.data, "local") == 0) {
        return 0;
    }

    if (strcmp(mode.data, "closed") == 0) {
        c->policy->revocation_fail_mode = LG_REVOCATION_CLOSED;
        return 0;
    }

    lg_json_path_key(&c->path, "revocation_fail_mode");

    return lg_fail(c, "must be \"local\" or \"closed\"");
}


/*
 * "validation": {"format_assertion": false, "strict_schemas": true,
 *                "max_errors": 10, "max_body_size": "1m"}
 */

int
lg_compile_validation(lg_compile_t *c)
{
    json_t       *v;
    int64_t       max_errors;
    lg_policy_t  *p;

    p = c->policy;

    p->format_assertion = 0;
    p->strict_schemas = 1;
    p->max_errors = 10;
    p->max_body_size = 1024 * 1024;

    c->root_dir = c->docs[0].dir;

    v = json_object_get(c->docs[0].json, "validation");
    if (v == NULL) {
        return 0;
    }

    lg_json_path_key(&c->path, "validation");

    max_errors = (int64_t) p->max_errors;

    if (lg_fields(c, v, lg_validation_fields, NULL) != 0
        || lg_get_bool(c, v, "format_assertion", &p->format_assertion) != 0
        || lg_get_bool(c, v, "strict_schemas", &p->strict_schemas) != 0
        || lg_get_integer(c, v, "max_errors", 1, 100, &max_errors) != 0
        || lg_get_size(c, v, "max_body_size",
                       " (e.g. \"64k\", \"1m\", at most 64m)",
                       &p->max_body_size)
           != 0)
    {
        return -1;
    }

    p->max_errors = (size_t) max_errors;

    return 0;
}


/*
 * "idempotency": {"ttl": "24h", "lock_ttl": "60s",
 *                 "max_response_size": "64k", "store_size": "1m"}
 * store_size: the zone of its own that records and locks live in,
 * without Redis.
 */

int
lg_compile_idempotency(lg_compile_t *c)
{
    json_t       *v;
    lg_policy_t  *p;

    p = c->policy;

    p->idem_ttl = 86400 * 1000;
    p->idem_lock = 60 * 1000;
    p->idem_max_response = 64 * 1024;
    p->idem_store_size = 1024 * 1024;

    v = json_object_get(c->docs[0].json, "idempotency");
    if (v == NULL) {
        return lg_idempotency_px(c);
    }

    lg_json_path_key(&c->path, "idempotency");

    if (lg_fields(c, v, lg_idempotency_fields, NULL) != 0
        || lg_get_duration(c, v, "ttl", 1000, INT64_MAX,
                           " (e.g. \"24h\")", &p->idem_ttl)
           != 0
        || lg_get_duration(c, v, "lock_ttl", 100, INT64_MAX,
                           " (e.g. \"60s\")", &p->idem_lock)
           != 0
        || lg_get_size(c, v, "max_response_size", " (e.g. \"64k\")",
                       &p->idem_max_response)
           != 0
        || lg_get_size(c, v, "store_size", " (32k to 64m, e.g. \"8m\")",
                       &p->idem_store_size)
           != 0)
    {
        return -1;
    }

    if (p->idem_store_size < 32 * 1024) {
        lg_json_path_key(&c->path, "store_size");
        return lg_fail(c, "invalid size \"%s\" (32k to 64m, e.g. \"8m\")",
                       json_string_value(json_object_get(v, "store_size")));
    }

    lg_json_path_init(&c->path);

    return lg_idempotency_px(c);
}


/* the lock and response lifetimes as the Redis commands take them */

static int
lg_idempotency_px(lg_compile_t *c)
{
    char  buf[24];
    int   n;

    n = snprintf(buf, sizeof(buf), "%lld", (long long) c->policy->idem_ttl);

    if (lg_arena_str(&c->policy->arena, &c->policy->idem_ttl_px, buf,
                     (size_t) n)
        != 0)
    {
        return lg_fail(c, "out of memory");
    }

    n = snprintf(buf, sizeof(buf), "%lld", (long long) c->policy->idem_lock);

    if (lg_arena_str(&c->policy->arena, &c->policy->idem_lock_px, buf,
                     (size_t) n)
        != 0)
    {
        return lg_fail(c, "out of memory");
    }

    return 0;
}
