
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * logistics-policy: the policy tool for security teams.  It links the
 * same core as the nginx module, so "check" compiles a policy exactly as
 * "nginx -t" does and prints the same messages.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lg_apikey.h"
#include "logistics_cli.h"
#include "lg_policy.h"
#include "lg_schema.h"


/* an instance bigger than this is not what a contract test feeds */
#define LG_CLI_MAX_INSTANCE  (64 * 1024 * 1024)


static int lg_cli_check(int argc, char **argv);
static int lg_cli_keygen(int argc, char **argv);
static int lg_cli_hash(int argc, char **argv);
static int lg_cli_validate(int argc, char **argv);
static void lg_cli_time(const lg_schema_t *schema, const char *path,
    const char *buf, size_t len, long runs);
static double lg_cli_cpu_seconds(void);
static char *lg_cli_read(const char *file, size_t *len);
static void lg_cli_usage(FILE *out);


static void
lg_cli_usage(FILE *out)
{
    fprintf(out,
        "usage: logistics-policy check FILE...\n"
        "       logistics-policy keygen PARTNER [--id KEY_ID] "
        "[--expires RFC3339]\n"
        "       logistics-policy hash < KEY\n"
        "       logistics-policy suspend PARTNER REDIS-OPTIONS "
        "[--ttl SECONDS]\n"
        "       logistics-policy reinstate PARTNER REDIS-OPTIONS\n"
        "       logistics-policy revoke-token PARTNER JTI REDIS-OPTIONS "
        "[--ttl SECONDS]\n"
        "       logistics-policy redis-cleanup POLICY REDIS-OPTIONS "
        "[--dry-run]\n"
        "       logistics-policy degrade --level deferrable|normal|off "
        "[--ttl 15m]\n"
        "                        REDIS-OPTIONS\n"
        "       logistics-policy validate --schema SCHEMA "
        "[--format-assertion]\n"
        "                                 [--time RUNS] INSTANCE...\n"
        "       logistics-policy webhook-sign [--scheme SCHEME] "
        "--secret-file F...\n"
        "                        [--id ID] [--timestamp T] "
        "[SCHEME OPTIONS] BODY_FILE\n"
        "       logistics-policy webhook-verify [--scheme SCHEME] "
        "--secret-file F...\n"
        "                        --headers FILE [--now T] "
        "[SCHEME OPTIONS] BODY_FILE\n"
        "       logistics-policy webhook-keygen --secret-file F "
        "[--ed25519 --public-file P]\n"
        "       logistics-policy metrics-sample POLICY "
        "[--format prometheus|openmetrics|json]\n"
        "                        [--no-partner] [--skip-zero] [--zero] "
        "[--time RUNS]\n"
        "       logistics-policy metrics-families\n"
        "\n"
        "check   compile policy files as nginx does; print FILE: ok or\n"
        "        FILE: json.path: reason; exit 1 on the first bad file\n"
        "keygen  print a fresh random API key once, and the policy snippet\n"
        "        holding only its SHA-256\n"
        "hash    print the SHA-256 (hex) of a key read from stdin\n"
        "suspend / reinstate  refuse or allow a partner on every gateway node\n"
        "        through Redis (key lg:{PARTNER}:suspended)\n"
        "revoke-token  refuse one access token (by its jti) on every node\n"
        "        (key lg:{PARTNER}:jti:JTI, default TTL one day)\n"
        "redis-cleanup  delete from Redis the rate limit states\n"
        "        (lg:{PARTNER}:rl, lg:{PARTNER}:rl:ROUTE) that POLICY does\n"
        "        not have: partners and routes that left it, or lost their\n"
        "        limit.  SCAN on every data node; --dry-run only lists them.\n"
        "        Run it after the reload that removed them\n"
        "degrade  brownout: every node sheds deferrable (or normal and\n"
        "        deferrable) requests of protected APIs with 503 degraded\n"
        "        within a second, until the ttl ends or --level off (key\n"
        "        lg:brownout); critical requests are never shed\n"
        "validate  check JSON documents against a JSON Schema (2020-12, or\n"
        "        draft-07 by $schema) exactly as the gateway does; print\n"
        "        \"valid PATH\" or \"invalid PATH: LOCATION: reason\" (first\n"
        "        error); exit 0 all valid, 1 any invalid, 2 when the schema\n"
        "        or a file cannot be used; --time RUNS also parses and\n"
        "        validates each instance RUNS more times and prints the mean\n"
        "        CPU time of each step to stderr\n"
        "webhook-sign  print the header lines a sender sends with\n"
        "        BODY_FILE (\"-\": stdin), one \"Name: value\" a line.\n"
        "        SCHEME: standard (the default: webhook-id,\n"
        "        webhook-timestamp, webhook-signature), stripe\n"
        "        (Stripe-Signature), github (X-GitHub-Delivery,\n"
        "        X-Hub-Signature-256) or hmac.  The id is made up when not\n"
        "        given, the timestamp is now.  Every secret file signs (in\n"
        "        a rotation both signatures are sent).  A secret file holds\n"
        "        the secret exactly, one trailing newline ignored\n"
        "        (standard: whsec_... signs v1, whsk_... signs v1a)\n"
        "webhook-verify  check a stored request as the gateway does.\n"
        "        FILE holds its header lines (\"Name: value\": what\n"
        "        webhook-sign prints, or a request head with its request\n"
        "        line), BODY_FILE the raw body; --now T checks the\n"
        "        timestamp at T, not now.  Prints \"ok: id ..., replay key\n"
        "        ...\" (exit 0) or \"refused (401 problem): reason-word:\n"
        "        why\" (exit 1).  standard checks v1 with whsec_ files and\n"
        "        v1a with whpk_ files\n"
        "        SCHEME OPTIONS: --tolerance S (default 300), --id-header\n"
        "        NAME (github, stripe, hmac); for hmac: --signature-header\n"
        "        NAME, --timestamp-header NAME, --prefix P, --digest\n"
        "        sha256|sha512, --encoding hex|base64, --payload TEMPLATE\n"
        "        (what the MAC covers: {id}, {timestamp}, {body} and literal\n"
        "        text, e.g. '{timestamp}.{body}'; default '{body}')\n"
        "webhook-keygen  write a new whsec_ secret (32 random bytes, for any\n"
        "        scheme) to F, mode 0600, never over an existing file; with\n"
        "        --ed25519 a whsk_ signing key to F and its whpk_ public key\n"
        "        to P\n"
        "metrics-sample  print the metrics a gateway with this policy\n"
        "        serves, every series filled with made-up values (--zero:\n"
        "        all 0); --time RUNS renders RUNS more times and prints the\n"
        "        mean CPU time of one rendering to stderr\n"
        "metrics-families  print the metric families and the decision\n"
        "        words as Markdown tables\n\n"
        "\n");

    lg_cli_redis_usage(out);
}


static int
lg_cli_check(int argc, char **argv)
{
    int           i, rc;
    size_t        j, keys, versions;
    lg_error_t    err;
    lg_policy_t  *policy;

    if (argc < 1) {
        lg_cli_usage(stderr);
        return 2;
    }

    rc = 0;

    for (i = 0; i < argc; i++) {
        policy = lg_policy_load(argv[i], &err);

        if (policy == NULL) {
            fprintf(stderr, "%s\n", err.text);
            rc = 1;
            continue;
        }

        for (j = 0; j < policy->nwarnings; j++) {
            fprintf(stderr, "warning: %s\n", policy->warnings[j].data);
        }

        keys = 0;
        versions = 0;

        for (j = 0; j < policy->npartners; j++) {
            keys += policy->partners[j].nkeys;
        }

        for (j = 0; j < policy->napis; j++) {
            versions += policy->apis[j].nversions;
        }

        printf("%s: ok (%zu files, %zu scopes, %zu partners, %zu keys, "
               "%zu APIs, %zu versions, %zu routes)\n", argv[i],
               policy->nfiles, policy->nscopes, policy->npartners, keys,
               policy->napis, versions, policy->nroutes);

        lg_policy_free(policy);
    }

    return rc;
}


static int
lg_cli_keygen(int argc, char **argv)
{
    int          i;
    char         key[64], hex[65], stamp[32], created[32];
    int64_t      expires;
    time_t       now;
    struct tm    tm;
    const char  *partner, *id, *exp;

    if (argc < 1) {
        lg_cli_usage(stderr);
        return 2;
    }

    partner = argv[0];
    id = NULL;
    exp = NULL;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--id") == 0 && i + 1 < argc) {
            id = argv[++i];

        } else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc) {
            exp = argv[++i];

        } else {
            lg_cli_usage(stderr);
            return 2;
        }
    }

    if (exp != NULL && lg_time_parse_rfc3339(exp, strlen(exp), &expires) != 0)
    {
        fprintf(stderr, "invalid --expires \"%s\" (RFC 3339, e.g. "
                "2027-06-01T00:00:00Z)\n", exp);
        return 2;
    }

    now = time(NULL);
    gmtime_r(&now, &tm);

    if (id == NULL) {
        strftime(stamp, sizeof(stamp), "%Y-%m-%d", &tm);
        id = stamp;
    }

    if (lg_apikey_generate(key, sizeof(key)) != 0) {
        fprintf(stderr, "cannot generate a random key\n");
        return 1;
    }

    lg_sha256_hex(key, strlen(key), hex);

    printf("API key for partner \"%s\" (shown once, give it to the "
           "partner over a secure channel):\n\n    %s\n\n", partner, key);

    printf("Add to \"partners\": {\"%s\": {\"api_keys\": [...]}} in the "
           "policy:\n\n", partner);

    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);

    printf("    {\"id\": \"%s\", \"sha256\": \"%s\", \"created\": \"%s\"%s%s%s}"
           "\n", id, hex, created, exp ? ", \"expires\": \"" : "",
           exp ? exp : "", exp ? "\"" : "");

    memset(key, 0, sizeof(key));

    return 0;
}


static int
lg_cli_hash(int argc, char **argv)
{
    char    buf[4096], hex[65];
    size_t  n;

    n = fread(buf, 1, sizeof(buf) - 1, stdin);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if (!lg_apikey_well_formed(buf, n)) {
        fprintf(stderr, "a key is 1 to %d printable ASCII characters "
                "without spaces\n", LG_APIKEY_MAX_LEN);
        return 2;
    }

    lg_sha256_hex(buf, n, hex);
    printf("%s\n", hex);

    memset(buf, 0, sizeof(buf));

    return 0;
}


static char *
lg_cli_read(const char *file, size_t *len)
{
    FILE    *f;
    char    *buf, *p;
    size_t   n, size;

    f = fopen(file, "rb");
    if (f == NULL) {
        return NULL;
    }

    size = 65536;
    n = 0;
    buf = malloc(size);

    while (buf != NULL) {
        n += fread(buf + n, 1, size - n, f);

        if (n < size) {
            break;
        }

        if (size >= LG_CLI_MAX_INSTANCE) {
            free(buf);
            buf = NULL;
            break;
        }

        size *= 2;
        p = realloc(buf, size);

        if (p == NULL) {
            free(buf);
        }

        buf = p;
    }

    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }

    fclose(f);

    *len = n;

    return buf;
}


static int
lg_cli_validate(int argc, char **argv)
{
    int                   i, rc, status, ninstances;
    char                 *buf, *end;
    long                  runs;
    size_t                len;
    const char           *schema_file, *where;
    lg_arena_t            arena, rarena;
    lg_error_t            err;
    lg_schema_t          *schema;
    lg_schema_result_t    res;
    lg_schema_options_t   opts;

    memset(&opts, 0, sizeof(opts));
    schema_file = NULL;
    ninstances = 0;
    runs = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc) {
            schema_file = argv[++i];

        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            runs = strtol(argv[++i], &end, 10);

            if (*end != '\0' || runs < 1 || runs > 100000000) {
                fprintf(stderr, "--time: RUNS must be 1..100000000\n");
                return 2;
            }

        } else if (strcmp(argv[i], "--format-assertion") == 0) {
            opts.format_assertion = 1;

        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            lg_cli_usage(stderr);
            return 2;

        } else {
            ninstances++;
        }
    }

    if (schema_file == NULL || ninstances == 0) {
        lg_cli_usage(stderr);
        return 2;
    }

    lg_arena_init(&arena);
    lg_arena_init(&rarena);

    schema = lg_schema_compile_file(&arena, schema_file, &opts, &err);
    if (schema == NULL) {
        fprintf(stderr, "%s\n", err.text);
        lg_arena_free(&arena);
        return 2;
    }

    status = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--schema") == 0 || strcmp(argv[i], "--time") == 0)
        {
            i++;
            continue;
        }

        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            continue;
        }

        buf = lg_cli_read(argv[i], &len);
        if (buf == NULL) {
            fprintf(stderr, "%s: cannot read (at most %d bytes)\n", argv[i],
                    LG_CLI_MAX_INSTANCE);
            status = 2;
            continue;
        }

        /* the gateway's own call */

        memset(&res, 0, sizeof(res));
        res.max_errors = 1;
        res.arena = &rarena;

        rc = lg_schema_validate_body(schema, buf, len, &res, &err);

        if (rc == LG_SCHEMA_BODY_MALFORMED) {
            free(buf);
            fprintf(stderr, "%s: %s\n", argv[i], err.text);
            status = 2;
            lg_arena_free(&rarena);
            continue;
        }

        if (runs > 0) {
            lg_cli_time(schema, argv[i], buf, len, runs);
        }

        free(buf);

        if (rc == 0) {
            printf("valid %s\n", argv[i]);

        } else if (res.nerrors > 0) {
            /* rc < 0 with an error: too deep to evaluate, as in the 422 */
            where = res.errors[0].instance_location;

            printf("invalid %s: %s: %s\n", argv[i],
                   where[0] != '\0' ? where : "(root)",
                   res.errors[0].message);

            if (status == 0) {
                status = 1;
            }

        } else {
            fprintf(stderr, "%s: %s\n", argv[i],
                    res.nerrors > 0 ? res.errors[0].message
                                    : "validation failed (out of memory)");
            status = 2;
        }

        lg_arena_free(&rarena);
    }

    lg_arena_free(&arena);

    return status;
}


/*
 * What one body costs the gateway's worker, step by step: the mean CPU
 * time of parsing it into tokens and of validating them, each over
 * "runs" repetitions, with buffers kept from one run to the next as
 * lg_schema_validate_body() keeps them.
 */

static void
lg_cli_time(const lg_schema_t *schema, const char *path, const char *buf,
    size_t len, long runs)
{
    long                 i;
    double               t0, parse, validate;
    lg_arena_t           arena;
    lg_error_t           err;
    lg_schema_body_t    *body;
    lg_schema_result_t   res;

    body = lg_schema_body_create();
    if (body == NULL) {
        return;
    }

    t0 = lg_cli_cpu_seconds();

    for (i = 0; i < runs; i++) {
        if (lg_schema_body_parse(body, buf, len, &err) != 0) {
            lg_schema_body_destroy(body);
            return;
        }
    }

    parse = lg_cli_cpu_seconds() - t0;

    lg_arena_init(&arena);

    t0 = lg_cli_cpu_seconds();

    for (i = 0; i < runs; i++) {
        memset(&res, 0, sizeof(res));
        res.max_errors = 1;
        res.arena = &arena;

        (void) lg_schema_body_validate(schema, body, &res);
    }

    validate = lg_cli_cpu_seconds() - t0;

    lg_arena_free(&arena);
    lg_schema_body_destroy(body);

    fprintf(stderr, "time %s: %zu bytes, parse %.2f us, validate %.2f us "
            "(mean of %ld runs)\n", path, len, parse / runs * 1e6,
            validate / runs * 1e6, runs);
}


static double
lg_cli_cpu_seconds(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    int  rc;

    if (argc < 2) {
        lg_cli_usage(stderr);
        return 2;
    }

    if (strcmp(argv[1], "check") == 0) {
        return lg_cli_check(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "keygen") == 0) {
        return lg_cli_keygen(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "hash") == 0) {
        return lg_cli_hash(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "revoke-token") == 0) {
        rc = lg_cli_revoke_token(argc - 2, argv + 2);

        if (rc == 2) {
            lg_cli_usage(stderr);
        }

        return rc;
    }

    if (strcmp(argv[1], "redis-cleanup") == 0) {
        rc = lg_cli_redis_cleanup(argc - 2, argv + 2);

        if (rc == 2) {
            lg_cli_usage(stderr);
        }

        return rc;
    }

    if (strcmp(argv[1], "degrade") == 0) {
        rc = lg_cli_degrade(argc - 2, argv + 2);

        if (rc == 2) {
            lg_cli_usage(stderr);
        }

        return rc;
    }

    if (strcmp(argv[1], "suspend") == 0 || strcmp(argv[1], "reinstate") == 0)
    {
        rc = lg_cli_suspend(argc - 2, argv + 2, argv[1][0] == 's');

        if (rc == 2) {
            lg_cli_usage(stderr);
        }

        return rc;
    }

    if (strcmp(argv[1], "validate") == 0) {
        return lg_cli_validate(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "webhook-sign") == 0
        || strcmp(argv[1], "webhook-verify") == 0
        || strcmp(argv[1], "webhook-keygen") == 0)
    {
        /* they say what is wrong themselves: no usage after it */

        if (argv[1][8] == 's') {
            return lg_cli_webhook_sign(argc - 2, argv + 2);
        }

        if (argv[1][8] == 'v') {
            return lg_cli_webhook_verify(argc - 2, argv + 2);
        }

        return lg_cli_webhook_keygen(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "metrics-sample") == 0) {
        rc = lg_cli_metrics_sample(argc - 2, argv + 2);

        if (rc == 2) {
            lg_cli_usage(stderr);
        }

        return rc;
    }

    if (strcmp(argv[1], "metrics-families") == 0) {
        rc = lg_cli_metrics_families(argc - 2, argv + 2);

        if (rc == 2) {
            lg_cli_usage(stderr);
        }

        return rc;
    }

    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        lg_cli_usage(stdout);
        return 0;
    }

    lg_cli_usage(stderr);

    return 2;
}
