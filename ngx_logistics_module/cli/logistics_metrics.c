
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * logistics-policy metrics-sample: the exposition a gateway running a
 * policy would serve, with every series filled in, so promtool (and a
 * Prometheus server) can check the writer without nginx, and its cost
 * can be measured for a big policy.  metrics-families: the family table
 * and the decision words as Markdown, for the README.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "lg_apikey.h"
#include "logistics_cli.h"
#include "lg_metrics.h"
#include "lg_policy.h"


static void lg_cli_metrics_fill(const lg_metrics_layout_t *layout,
    uint64_t *values, unsigned zero, int64_t loaded);
static double lg_cli_metrics_cpu(void);
static int lg_cli_metrics_digest(const char *file, char hex[65]);


int
lg_cli_metrics_sample(int argc, char **argv)
{
    int                    i, format;
    char                  *buf, hex[65], *end;
    long                   runs, r;
    size_t                 bound, len;
    double                 t0, t;
    unsigned               zero;
    uint64_t              *values;
    lg_error_t             err;
    const char            *file;
    lg_policy_t           *policy;
    lg_metrics_scrape_t    scrape;
    lg_metrics_layout_t   *layout;
    lg_metrics_options_t   opts;
    struct stat            st;

    file = NULL;
    format = LG_METRICS_PROMETHEUS;
    runs = 0;
    zero = 0;
    memset(&opts, 0, sizeof(opts));
    opts.per_partner = 1;
    memset(&scrape, 0, sizeof(scrape));

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            i++;

            if (strcmp(argv[i], "prometheus") == 0) {
                format = LG_METRICS_PROMETHEUS;

            } else if (strcmp(argv[i], "openmetrics") == 0) {
                format = LG_METRICS_OPENMETRICS;

            } else if (strcmp(argv[i], "json") == 0) {
                format = LG_METRICS_JSON;

            } else {
                return 2;
            }

        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            runs = strtol(argv[++i], &end, 10);

            if (*end != '\0' || runs < 1 || runs > 100000) {
                fprintf(stderr, "--time: RUNS must be 1..100000\n");
                return 2;
            }

        } else if (strcmp(argv[i], "--no-partner") == 0) {
            opts.per_partner = 0;

        } else if (strcmp(argv[i], "--skip-zero") == 0) {
            scrape.skip_zero = 1;

        } else if (strcmp(argv[i], "--zero") == 0) {
            zero = 1;

        } else if (argv[i][0] != '-' && file == NULL) {
            file = argv[i];

        } else {
            return 2;
        }
    }

    if (file == NULL) {
        return 2;
    }

    policy = lg_policy_load(file, &err);
    if (policy == NULL) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }

    layout = lg_metrics_layout(policy, &opts);
    if (layout == NULL) {
        fprintf(stderr, "%s: the metrics layout does not fit in memory\n",
                file);
        lg_policy_free(policy);
        return 1;
    }

    values = calloc(lg_metrics_nslots(layout), sizeof(uint64_t));
    if (values == NULL) {
        fprintf(stderr, "out of memory\n");
        lg_metrics_layout_free(layout);
        lg_policy_free(policy);
        return 1;
    }

    /* the file's mtime stands for the load time: the same every run */

    if (stat(file, &st) != 0) {
        st.st_mtime = 0;
    }

    lg_cli_metrics_fill(layout, values, zero, (int64_t) st.st_mtime);

    if (lg_cli_metrics_digest(file, hex) != 0) {
        fprintf(stderr, "%s: cannot read\n", file);
        free(values);
        lg_metrics_layout_free(layout);
        lg_policy_free(policy);
        return 1;
    }

    scrape.values = values;
    scrape.digest.data = hex;
    scrape.digest.len = 64;
    scrape.now = (int64_t) time(NULL) * 1000;

    if (format == LG_METRICS_JSON) {
        bound = lg_metrics_json_bound(layout, scrape.digest.len);

    } else {
        bound = lg_metrics_render_bound(layout, format, scrape.digest.len);
    }

    buf = malloc(bound);
    if (buf == NULL) {
        fprintf(stderr, "out of memory (%zu bytes)\n", bound);
        free(values);
        lg_metrics_layout_free(layout);
        lg_policy_free(policy);
        return 1;
    }

    /* the first run also faults the buffer's pages in */

    if (format == LG_METRICS_JSON) {
        len = lg_metrics_json(layout, &scrape, buf, bound);

    } else {
        len = lg_metrics_render(layout, &scrape, format, buf, bound);
    }

    if (len > bound) {
        fprintf(stderr, "rendering needs %zu bytes, more than its bound "
                "%zu\n", len, bound);
        free(buf);
        free(values);
        lg_metrics_layout_free(layout);
        lg_policy_free(policy);
        return 1;
    }

    if (runs > 0) {
        t0 = lg_cli_metrics_cpu();

        for (r = 0; r < runs; r++) {
            if (format == LG_METRICS_JSON) {
                (void) lg_metrics_json(layout, &scrape, buf, bound);

            } else {
                (void) lg_metrics_render(layout, &scrape, format, buf,
                                         bound);
            }
        }

        t = (lg_cli_metrics_cpu() - t0) / runs;

        fprintf(stderr, "time %s: %zu partners, %zu routes, %zu slots, "
                "%zu bytes, render %.3f ms (mean CPU of %ld runs)\n", file,
                policy->npartners, policy->nroutes,
                lg_metrics_nslots(layout), len, t * 1e3, runs);

    } else {
        fwrite(buf, 1, len, stdout);
    }

    free(buf);
    free(values);
    lg_metrics_layout_free(layout);
    lg_policy_free(policy);

    return 0;
}


/*
 * Every series gets a value of its own (a multiplicative hash of its
 * slot), each histogram a few observations; the scrape-time gauges get
 * plausible values.  "zero" leaves everything at 0 but those gauges.
 */

static void
lg_cli_metrics_fill(const lg_metrics_layout_t *layout, uint64_t *values,
    unsigned zero, int64_t loaded)
{
    size_t                      i, s, slot, n, k;
    uint64_t                    h;
    const lg_metric_family_t   *f;

    for (i = 0; i < LG_MF_LAST; i++) {
        f = lg_metric_family((lg_metric_e) i);
        n = lg_metrics_nseries(layout, (lg_metric_e) i);

        for (s = 0; s < n; s++) {
            slot = lg_metrics_slot0(layout, (lg_metric_e) i)
                   + s * lg_metric_width((lg_metric_e) i);
            h = (slot + 1) * 2654435761ULL;

            if (f->source == LG_SOURCE_SCRAPE) {
                continue;
            }

            if (zero) {
                continue;
            }

            if (f->type == LG_METRIC_HISTOGRAM) {
                for (k = 0; k < 1 + h % 7; k++) {
                    lg_metrics_observe(layout, values, (lg_metric_e) i, slot,
                                       (h >> (k * 3)) % 40000000);
                }

            } else {
                values[slot] = h % 100000;
            }
        }
    }

    n = lg_metrics_dim_size(layout, LG_DIM_ISSUER);

    for (i = 0; i < n; i++) {
        lg_metrics_set(layout, values,
                       lg_metrics_slot1(layout, LG_MF_JWKS_KEY_SET_AGE, i),
                       i == 0 ? LG_METRICS_NAN : (int64_t) i * 61500000);
    }

    lg_metrics_set(layout, values,
                   lg_metrics_slot1(layout, LG_MF_ZONE_BYTES, LG_ZONE_USED),
                   245760);
    lg_metrics_set(layout, values,
                   lg_metrics_slot1(layout, LG_MF_ZONE_BYTES, LG_ZONE_FREE),
                   802816);
    lg_metrics_set(layout, values,
                   lg_metrics_slot0(layout, LG_MF_POLICY_LOADED),
                   loaded * 1000000 + 250000);
}


static int
lg_cli_metrics_digest(const char *file, char hex[65])
{
    FILE    *f;
    char    *buf;
    long     size;
    size_t   n;

    f = fopen(file, "rb");
    if (f == NULL) {
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return -1;
    }

    buf = malloc((size_t) size + 1);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }

    n = fread(buf, 1, (size_t) size, f);
    fclose(f);

    lg_sha256_hex(buf, n, hex);
    free(buf);

    return 0;
}


static double
lg_cli_metrics_cpu(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* the tables of lg_metrics.c as Markdown */

int
lg_cli_metrics_families(int argc, char **argv)
{
    size_t                      i, k, l, nl;
    const char                 *type;
    lg_metrics_dim_e            dim;
    const lg_decision_word_t   *d;
    const lg_metric_family_t   *f;

    if (argc != 0) {
        return 2;
    }

    printf("| metric | type | labels | meaning |\n|---|---|---|---|\n");

    for (i = 0; i < LG_MF_LAST; i++) {
        f = lg_metric_family((lg_metric_e) i);

        switch (f->type) {
        case LG_METRIC_COUNTER:
            type = "counter";
            break;
        case LG_METRIC_HISTOGRAM:
            type = "histogram";
            break;
        case LG_METRIC_INFO:
            type = "info";
            break;
        default:
            type = "gauge";
        }

        printf("| `%s` | %s | ", lg_metric_sample_name((lg_metric_e) i),
               type);

        if (f->type == LG_METRIC_INFO) {
            printf("`digest`");
        }

        for (k = 0; k < f->ndims; k++) {
            dim = f->dims[k];
            nl = lg_metrics_dim_labels(dim);

            for (l = 0; l < nl; l++) {
                printf("%s`%s`", (k > 0 || l > 0) ? ", " : "",
                       lg_metrics_dim_label(dim, l));
            }
        }

        printf(" | %s |\n", f->help);
    }

    printf("\n| decision | status | meaning |\n|---|---|---|\n");

    for (i = 0; i < LG_DECISION_LAST; i++) {
        d = lg_decision((lg_decision_e) i);

        if (d->status != 0) {
            printf("| `%s` | %d | %s |\n", d->word.data, d->status,
                   d->meaning);

        } else {
            printf("| `%s` | - | %s |\n", d->word.data, d->meaning);
        }
    }

    return 0;
}
