
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "unit.h"
#include "fixture.h"

#include "lg_policy.h"
#include "lg_router.h"


static const char  *policy_text =
    "{\"scopes\": {\"a\": \"\", \"b\": \"\"},\n"
    " \"partners\": {\"p\": {\"scopes\": [\"a\"], \"api_keys\": []}},\n"
    " \"apis\": {\n"
    "  \"ship\": {\n"
    "   \"versions\": {\"v1\": {\"upstream_prefix\": \"/api/v1\"},\n"
    "                \"v2\": {\"upstream_prefix\": \"\"}},\n"
    "   \"routes\": [\n"
    "    {\"id\": \"list\", \"method\": \"GET\", \"path\": \"/shipments\","
    "     \"scopes\": []},\n"
    "    {\"id\": \"create\", \"method\": \"POST\", \"path\": \"/shipments\","
    "     \"scopes\": [\"a\"]},\n"
    "    {\"id\": \"get\", \"method\": \"GET\", \"path\": \"/shipments/{id}\","
    "     \"scopes\": []},\n"
    "    {\"id\": \"pending\", \"method\": \"GET\","
    "     \"path\": \"/shipments/pending\", \"scopes\": []},\n"
    "    {\"id\": \"cancel\", \"method\": \"POST\","
    "     \"path\": \"/shipments/{id}/cancel\", \"scopes\": []},\n"
    "    {\"id\": \"label\", \"method\": \"GET\","
    "     \"path\": \"/shipments/{id}/parcels/{n}/label\", \"scopes\": [],"
    "     \"versions\": [\"v2\"]}\n"
    "   ]},\n"
    "  \"stock\": {\n"
    "   \"versions\": {\"v2\": {\"upstream_prefix\": \"/inv\"}},\n"
    "   \"routes\": [\n"
    "    {\"id\": \"sku\", \"method\": \"GET\", \"path\": \"/stock/{sku}\","
    "     \"scopes\": [\"b\"]}\n"
    "   ]}\n"
    " }}\n";


static lg_route_status_e
match(lg_policy_t *p, const char *version, unsigned method, const char *path,
    lg_route_match_t *m)
{
    return lg_router_match(p, version, strlen(version), method, path,
                           strlen(path), m);
}


int
main(void)
{
    const char        *dir, *file;
    lg_str_t           v, rest;
    lg_error_t         err;
    lg_policy_t       *p;
    lg_route_match_t   m;

    dir = lg_fixture_dir();
    file = lg_fixture_write(dir, "policy.json", policy_text);

    p = lg_policy_load(file, &err);

    if (!ok(p != NULL, "policy compiles")) {
        printf("# %s\n", err.text);
        return lg_unit_done();
    }

    is_int(p->nroutes, 7, "seven routes");
    is_int(p->nrouter, 2, "two version tries (v1, v2 shared by two APIs)");

    is_int(match(p, "v2", LG_METHOD_GET, "/shipments", &m), LG_ROUTE_FOUND,
           "GET /shipments");
    is_str(m.route->id.data, "list", "GET /shipments is list");

    is_int(match(p, "v2", LG_METHOD_POST, "/shipments", &m), LG_ROUTE_FOUND,
           "POST /shipments");
    is_str(m.route->id.data, "create", "POST /shipments is create");
    is_str(m.version->name.data, "v2", "matched in v2");

    is_int(match(p, "v1", LG_METHOD_GET, "/shipments/42", &m),
           LG_ROUTE_FOUND, "GET /shipments/42 in v1");
    is_str(m.route->id.data, "get", "a parameter segment matches");
    is_int(m.nparams, 1, "one parameter captured");
    ok(m.params[0].len == 2 && memcmp(m.params[0].data, "42", 2) == 0,
       "parameter value is 42");
    is_str(m.version->upstream_prefix.data, "/api/v1", "v1 prefix");

    is_int(match(p, "v2", LG_METHOD_GET, "/shipments/pending", &m),
           LG_ROUTE_FOUND, "literal segment");
    is_str(m.route->id.data, "pending", "a literal beats a parameter");

    is_int(match(p, "v2", LG_METHOD_POST, "/shipments/pending/cancel", &m),
           LG_ROUTE_FOUND, "backtracks from a literal to a parameter");
    is_str(m.route->id.data, "cancel", "cancel with id=pending");
    ok(m.params[0].len == 7, "id is \"pending\"");

    is_int(match(p, "v2", LG_METHOD_GET, "/shipments/7/parcels/3/label", &m),
           LG_ROUTE_FOUND, "two parameters");
    is_int(m.nparams, 2, "two parameters captured");
    ok(m.params[1].len == 1 && m.params[1].data[0] == '3',
       "second parameter is 3");

    is_int(match(p, "v1", LG_METHOD_GET, "/shipments/7/parcels/3/label", &m),
           LG_ROUTE_NOT_FOUND, "route limited to v2 is absent from v1");

    is_int(match(p, "v2", LG_METHOD_GET, "/stock/ABC-1", &m),
           LG_ROUTE_FOUND, "second API shares the v2 trie");
    is_str(m.version->upstream_prefix.data, "/inv",
           "second API's own prefix");

    is_int(match(p, "v1", LG_METHOD_GET, "/stock/ABC-1", &m),
           LG_ROUTE_NOT_FOUND, "API without v1 is not in v1");

    is_int(match(p, "v2", LG_METHOD_DELETE, "/shipments/42", &m),
           LG_ROUTE_NO_METHOD, "known path, unknown method");
    is_int(m.allow, LG_METHOD_GET, "allow lists GET");

    is_int(match(p, "v2", LG_METHOD_DELETE, "/shipments", &m),
           LG_ROUTE_NO_METHOD, "DELETE /shipments is 405");
    is_int(m.allow, LG_METHOD_GET | LG_METHOD_POST, "allow GET and POST");

    is_int(match(p, "v2", LG_METHOD_HEAD, "/shipments/1", &m),
           LG_ROUTE_FOUND, "HEAD follows GET");

    is_int(match(p, "v2", 0, "/shipments/1", &m), LG_ROUTE_NO_METHOD,
           "an unsupported method on a known path is 405");

    is_int(match(p, "v3", LG_METHOD_GET, "/shipments", &m),
           LG_ROUTE_NOT_FOUND, "unknown version");
    is_int(match(p, "v2", LG_METHOD_GET, "/shipments/", &m),
           LG_ROUTE_NOT_FOUND, "trailing slash does not match");
    is_int(match(p, "v2", LG_METHOD_GET, "//shipments", &m),
           LG_ROUTE_NOT_FOUND, "empty segment does not match");
    is_int(match(p, "v2", LG_METHOD_GET, "/shipments//1", &m),
           LG_ROUTE_NOT_FOUND, "empty parameter does not match");
    is_int(match(p, "v2", LG_METHOD_GET, "/", &m), LG_ROUTE_NOT_FOUND,
           "root does not match");
    is_int(match(p, "v2", LG_METHOD_GET, "", &m), LG_ROUTE_NOT_FOUND,
           "empty path does not match");
    is_int(match(p, "v2", LG_METHOD_GET, "/Shipments", &m),
           LG_ROUTE_NOT_FOUND, "literals are case-sensitive");
    is_int(match(p, "v2", LG_METHOD_GET,
                 "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/1/2/"
                 "3/4/5/6/7/8/9", &m),
           LG_ROUTE_NOT_FOUND, "more segments than the limit is 404");

    ok(lg_router_split_version("/v2/shipments", 13, &v, &rest),
       "split /v2/shipments");
    ok(v.len == 2 && rest.len == 10, "version v2, rest /shipments");
    ok(lg_router_split_version("/v12", 4, &v, &rest) && rest.len == 0,
       "split /v12");
    ok(!lg_router_split_version("/v0/x", 5, &v, &rest), "v0 is no version");
    ok(!lg_router_split_version("/va/x", 5, &v, &rest), "va is no version");
    ok(!lg_router_split_version("/shipments", 10, &v, &rest),
       "no version prefix");
    ok(!lg_router_split_version("/v2x/a", 6, &v, &rest),
       "v2x is no version");
    ok(!lg_router_split_version("/v1234567/a", 11, &v, &rest),
       "absurd version numbers are no version");

    lg_policy_free(p);
    lg_fixture_cleanup(dir);

    return lg_unit_done();
}
