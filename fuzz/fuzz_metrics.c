
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: the two inputs of lg_metrics that do not come from
 * the module itself.  The first byte chooses:
 *   even: the rest is an Accept header for lg_metrics_negotiate();
 *   odd:  the rest patches a valid layout block (pairs of a 16-bit offset
 *         and a byte), as a damaged block in shared memory would look;
 *         lg_metrics_layout_check() must refuse it or the writers must
 *         render it within their bounds.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_metrics.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static lg_metrics_layout_t  *lg_fuzz_layout;
static uint64_t             *lg_fuzz_block;
static size_t                lg_fuzz_size;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int                    fd;
    char                   file[] = "/tmp/lg-fuzz-metrics-XXXXXX";
    lg_error_t             err;
    lg_policy_t           *policy;
    lg_metrics_options_t   opts;
    static const char      text[] =
        "{\"scopes\": {\"s\": \"\"}, \"partners\": {"
        " \"a\": {\"scopes\": [\"s\"], \"api_keys\": [{\"id\": \"k\", "
        "  \"sha256\": \"00000000000000000000000000000000000000000000000000"
        "00000000000001\"}]},"
        " \"b\": {\"scopes\": [\"s\"], \"api_keys\": [{\"id\": \"k\", "
        "  \"sha256\": \"00000000000000000000000000000000000000000000000000"
        "00000000000002\"}]}},"
        " \"apis\": {\"x\": {\"versions\": {\"v1\": {\"upstream_prefix\": "
        "  \"\"}, \"v2\": {\"upstream_prefix\": \"\"}}, \"routes\": ["
        "  {\"id\": \"r\", \"method\": \"GET\", \"path\": \"/r\", "
        "   \"scopes\": [\"s\"]}]}}}";

    fd = mkstemp(file);
    if (fd == -1 || write(fd, text, sizeof(text) - 1) != sizeof(text) - 1) {
        abort();
    }

    close(fd);

    policy = lg_policy_load(file, &err);
    unlink(file);

    if (policy == NULL) {
        fprintf(stderr, "%s\n", err.text);
        abort();
    }

    opts.per_partner = 1;
    lg_fuzz_layout = lg_metrics_layout(policy, &opts);

    if (lg_fuzz_layout == NULL) {
        abort();
    }

    lg_fuzz_size = lg_metrics_layout_size(lg_fuzz_layout);
    lg_fuzz_block = malloc(lg_fuzz_size + 8);

    lg_policy_free(policy);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                       *buf;
    size_t                      i, off, len, bound;
    uint64_t                   *values;
    lg_metrics_format_e         f;
    lg_metrics_scrape_t         scrape;
    const lg_metrics_layout_t  *l;

    if (size == 0) {
        return 0;
    }

    if ((data[0] & 1) == 0) {
        f = lg_metrics_negotiate((const char *) data + 1, size - 1);

        if ((unsigned) f > LG_METRICS_HTML) {
            abort();
        }

        return 0;
    }

    memcpy(lg_fuzz_block, lg_fuzz_layout, lg_fuzz_size);

    for (i = 1; i + 2 < size; i += 3) {
        off = ((size_t) data[i] << 8 | data[i + 1]) % lg_fuzz_size;
        ((uint8_t *) lg_fuzz_block)[off] = data[i + 2];
    }

    l = lg_metrics_layout_check(lg_fuzz_block, lg_fuzz_size);

    if (l == NULL) {
        return 0;
    }

    /* a block can be valid and name millions of series */

    if (lg_metrics_nslots(l) > (1 << 20)) {
        return 0;
    }

    values = calloc(lg_metrics_nslots(l) + 1, sizeof(uint64_t));
    if (values == NULL) {
        return 0;
    }

    memset(&scrape, 0, sizeof(scrape));
    scrape.values = values;
    scrape.digest.data = "d";
    scrape.digest.len = 1;

    for (f = LG_METRICS_PROMETHEUS; f <= LG_METRICS_JSON; f++) {
        bound = f == LG_METRICS_JSON ? lg_metrics_json_bound(l, 1)
                                     : lg_metrics_render_bound(l, f, 1);

        if (bound > (64 << 20)) {
            continue;
        }

        buf = malloc(bound);
        if (buf == NULL) {
            continue;
        }

        len = f == LG_METRICS_JSON ? lg_metrics_json(l, &scrape, buf, bound)
                                   : lg_metrics_render(l, &scrape, f, buf,
                                                       bound);
        free(buf);

        if (len > bound) {
            abort();
        }
    }

    free(values);

    return 0;
}
