
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * The Redis topology core: hash slots (known answers from the cluster
 * specification and from CLUSTER KEYSLOT of redis-server 7.0), the slot
 * map from CLUSTER SLOTS, -MOVED / -ASK, the error classes, ROLE, and
 * Sentinel's replies and +switch-master messages.  Replies are built by
 * hiredis's own reader from RESP bytes, as the transport will get them.
 */

#include "unit.h"

#include <hiredis/hiredis.h>

#include "lg_redis_cluster.h"
#include "lg_redis_reply.h"
#include "lg_redis_sentinel.h"


static lg_redis_slots_t  map;


/* one reply from RESP bytes (NULL if they do not make exactly one) */

static redisReply *
resp(const char *bytes, size_t len)
{
    void         *reply, *more;
    redisReader  *rd;

    rd = redisReaderCreate();
    reply = NULL;
    more = NULL;

    if (rd == NULL || redisReaderFeed(rd, bytes, len) != REDIS_OK
        || redisReaderGetReply(rd, &reply) != REDIS_OK
        || redisReaderGetReply(rd, &more) != REDIS_OK || more != NULL)
    {
        freeReplyObject(reply);
        freeReplyObject(more);
        reply = NULL;
    }

    redisReaderFree(rd);

    return reply;
}

#define R(s)  resp(s, sizeof(s) - 1)


static unsigned
slot_of(const char *key)
{
    return lg_redis_key_slot(key, strlen(key));
}


static void
test_slots_of_keys(void)
{
    is_int(lg_redis_crc16("123456789", 9), 0x31c3,
           "CRC16 of \"123456789\" is 0x31C3 (cluster specification)");
    is_int(lg_redis_crc16("", 0), 0, "CRC16 of nothing is 0");
    is_int(slot_of("123456789"), 0x31c3 & 16383, "slot of 123456789");

    /* CLUSTER KEYSLOT of redis-server 7.0 */
    is_int(slot_of("somekey"), 11058, "somekey: 11058");
    is_int(slot_of("bar"), 5061, "bar: 5061");
    is_int(slot_of("foo{hash_tag}"), 2515, "foo{hash_tag}: 2515");
    is_int(slot_of("bar{hash_tag}"), 2515, "bar{hash_tag}: 2515");
    is_int(slot_of("{user1000}.following"), 3443,
           "{user1000}.following: 3443");
    is_int(slot_of("lg:{acme-carrier}:suspended"), 12225,
           "a gateway key: the slot of its partner tag");
    is_int(slot_of("{"), 4092, "a lone {");
    is_int(slot_of("}"), 12090, "a lone }");
    is_int(slot_of("{}"), 15257, "{} is no tag: whole key");
    is_int(slot_of("a{b"), 13340, "an open tag: whole key");
    is_int(slot_of(""), 0, "the empty key");

    /* the specification's examples of hash tags */
    is_int(slot_of("{user1000}.following"), slot_of("{user1000}.followers"),
           "{user1000}.following and .followers share a slot");
    is_int(slot_of("{user1000}.following"), slot_of("user1000"),
           "a tag hashes like the bare name");
    is_int(slot_of("foo{}{bar}"),
           lg_redis_crc16("foo{}{bar}", 10) & 16383,
           "foo{}{bar}: the whole key is hashed");
    is_int(slot_of("foo{}{bar}"), 8363, "foo{}{bar}: 8363");
    is_int(slot_of("foo{{bar}}zap"), slot_of("{bar"),
           "foo{{bar}}zap: \"{bar\" is hashed");
    is_int(slot_of("foo{{bar}}zap"), 4015, "foo{{bar}}zap: 4015");
    is_int(slot_of("foo{bar}{zap}"), slot_of("bar"),
           "foo{bar}{zap}: only the first tag counts");

    /* what a request's keys look like: one slot per partner */
    is_int(slot_of("lg:{acme}:suspended"), slot_of("lg:{acme}:jti:abc"),
           "suspension and revocation keys share the partner's slot");
    is_int(slot_of("lg:{acme}:rl:shipments.create"),
           slot_of("lg:{acme}:idem:0123"),
           "limit and idempotency keys share the partner's slot");
    ok(slot_of("lg:{acme}:suspended") != slot_of("lg:{acmf}:suspended"),
       "different partners, different slots here");

    /* a NUL byte is a byte like any other */
    ok(lg_redis_key_slot("a\0b", 3) != lg_redis_key_slot("a", 1),
       "binary keys are hashed in full");
}


static void
test_error_kinds(void)
{
    redisReply  *r;

    struct {
        const char        *text;
        lg_redis_error_e   kind;
    } cases[] = {
        { "MOVED 3999 127.0.0.1:6381", LG_REDIS_ERR_MOVED },
        { "ASK 3999 127.0.0.1:6381", LG_REDIS_ERR_ASK },
        { "TRYAGAIN Multiple keys request during rehashing of slot",
          LG_REDIS_ERR_TRYAGAIN },
        { "CLUSTERDOWN The cluster is down", LG_REDIS_ERR_CLUSTERDOWN },
        { "CLUSTERDOWN Hash slot not served", LG_REDIS_ERR_CLUSTERDOWN },
        { "READONLY You can't write against a read only replica.",
          LG_REDIS_ERR_READONLY },
        { "MASTERDOWN Link with MASTER is down and replica-serve-stale-data"
          " is set to 'no'.", LG_REDIS_ERR_MASTERDOWN },
        { "LOADING Redis is loading the dataset in memory",
          LG_REDIS_ERR_LOADING },
        { "NOSCRIPT No matching script. Please use EVAL.",
          LG_REDIS_ERR_NOSCRIPT },
        { "READONLY", LG_REDIS_ERR_READONLY },
        { "ERR unknown command 'FOO'", LG_REDIS_ERR_OTHER },
        { "WRONGPASS invalid username-password pair", LG_REDIS_ERR_OTHER },
        { "READONLYX x", LG_REDIS_ERR_OTHER },
        { "MOVEDx 1 a:1", LG_REDIS_ERR_OTHER },
        { "moved 1 a:1", LG_REDIS_ERR_OTHER },
        { " MOVED 1 a:1", LG_REDIS_ERR_OTHER },
        { "", LG_REDIS_ERR_OTHER },
    };

    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_int(lg_redis_error_kind(cases[i].text, strlen(cases[i].text)),
               cases[i].kind, "error class of \"%s\"", cases[i].text);
    }

    is_int(lg_redis_error_kind("READONLY x", 4), LG_REDIS_ERR_OTHER,
           "only the given length is read");
    is_int(lg_redis_error_kind(NULL, 0), LG_REDIS_ERR_OTHER, "no text");

    r = R("-READONLY You can't write against a read only replica.\r\n");
    is_int(lg_redis_reply_error(r), LG_REDIS_ERR_READONLY,
           "an error reply read by hiredis: READONLY");
    freeReplyObject(r);

    r = R("-MASTERDOWN Link with MASTER is down\r\n");
    is_int(lg_redis_reply_error(r), LG_REDIS_ERR_MASTERDOWN,
           "an error reply read by hiredis: MASTERDOWN");
    freeReplyObject(r);

    r = R("-LOADING Redis is loading the dataset in memory\r\n");
    is_int(lg_redis_reply_error(r), LG_REDIS_ERR_LOADING,
           "an error reply read by hiredis: LOADING");
    freeReplyObject(r);

    r = R("+READONLY\r\n");
    is_int(lg_redis_reply_error(r), LG_REDIS_ERR_OTHER,
           "a status reply is no error");
    freeReplyObject(r);

    r = R("$8\r\nREADONLY\r\n");
    is_int(lg_redis_reply_error(r), LG_REDIS_ERR_OTHER,
           "a bulk string is no error");
    freeReplyObject(r);

    is_int(lg_redis_reply_error(NULL), LG_REDIS_ERR_OTHER, "no reply");
}


static int
redirect(const char *text, const char *def, lg_redis_redirect_t *rd)
{
    memset(rd, 0, sizeof(*rd));

    return lg_redis_redirect_parse(text, strlen(text), def, rd);
}


static void
test_redirects(void)
{
    size_t               i;
    redisReply          *r;
    lg_redis_redirect_t  rd;

    static const char  *bad[] = {
        "MOVED 16384 127.0.0.1:6379",
        "MOVED -1 127.0.0.1:6379",
        "MOVED 123456 127.0.0.1:6379",
        "MOVED 1a 127.0.0.1:6379",
        "MOVED  1 127.0.0.1:6379",
        "MOVED 1  127.0.0.1:6379",
        "MOVED 1 127.0.0.1",
        "MOVED 1 127.0.0.1:",
        "MOVED 1 127.0.0.1:0",
        "MOVED 1 127.0.0.1:65536",
        "MOVED 1 127.0.0.1:6379x",
        "MOVED 1 127.0.0.1:+6379",
        "MOVED 1 127.0.0.1:6379 ",
        "MOVED 1 a b:6379",
        "MOVED 1",
        "MOVED 1 ",
        "MOVED",
        "MOVED ",
        "ASK",
        "READONLY 1 127.0.0.1:6379",
        "ERR 1 127.0.0.1:6379",
        "",
    };

    ok(redirect("MOVED 3999 127.0.0.1:6381", NULL, &rd) == 0
       && rd.ask == 0 && rd.slot == 3999 && rd.addr.port == 6381,
       "-MOVED 3999 127.0.0.1:6381");
    is_str(rd.addr.host, "127.0.0.1", "  host");

    ok(redirect("ASK 3999 127.0.0.1:6381", NULL, &rd) == 0
       && rd.ask == 1 && rd.slot == 3999 && rd.addr.port == 6381,
       "-ASK 3999 127.0.0.1:6381");

    ok(redirect("MOVED 0 redis-2.cache.internal:6379", NULL, &rd) == 0
       && rd.slot == 0 && rd.addr.port == 6379,
       "a host name (cluster-preferred-endpoint-type hostname)");
    is_str(rd.addr.host, "redis-2.cache.internal", "  host");

    ok(redirect("MOVED 16383 ::1:7000", NULL, &rd) == 0
       && rd.slot == 16383 && rd.addr.port == 7000,
       "an IPv6 host without brackets: the port follows the last colon");
    is_str(rd.addr.host, "::1", "  host");

    ok(redirect("ASK 12 :6380", "10.1.2.3", &rd) == 0
       && rd.ask && rd.slot == 12 && rd.addr.port == 6380,
       "an unknown endpoint: the host that sent the redirect");
    is_str(rd.addr.host, "10.1.2.3", "  host");

    ok(redirect("MOVED 12 :6380", NULL, &rd) != 0,
       "an unknown endpoint without a default host is refused");

    ok(redirect("MOVED 5 127.0.0.1:65535", NULL, &rd) == 0
       && rd.addr.port == 65535, "port 65535");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(redirect(bad[i], "127.0.0.1", &rd) != 0,
           "refused: \"%s\"", bad[i]);
    }

    ok(lg_redis_redirect_parse("MOVED 3999 127.0.0.1:6381", 24, NULL, &rd)
       == 0 && rd.addr.port == 638, "only the given length is read");

    r = R("-MOVED 866 127.0.0.1:30002\r\n");
    ok(r != NULL && lg_redis_reply_error(r) == LG_REDIS_ERR_MOVED
       && lg_redis_redirect_parse(r->str, r->len, NULL, &rd) == 0
       && rd.slot == 866 && rd.addr.port == 30002,
       "a -MOVED reply read by hiredis");
    freeReplyObject(r);
}


static int
addr(const char *s, lg_redis_addr_t *a)
{
    memset(a, 0, sizeof(*a));

    return lg_redis_addr_parse(s, strlen(s), 6379, a);
}


static void
test_addresses(void)
{
    size_t           i;
    char             big[300];
    lg_redis_addr_t  a, b;

    static const char  *bad[] = {
        "", ":6379", "host:", "host:0", "host:65536", "host:63x9",
        "::1:7000", "[::1", "[]:1", "[::1]x", "[::1]:", "a b:1", "a\tb",
    };

    ok(addr("127.0.0.1:6380", &a) == 0 && a.port == 6380, "IPv4:port");
    is_str(a.host, "127.0.0.1", "  host");
    ok(addr("redis.internal", &a) == 0 && a.port == 6379,
       "a host name with the default port");
    is_str(a.host, "redis.internal", "  host");
    ok(addr("[::1]:7000", &a) == 0 && a.port == 7000, "[IPv6]:port");
    is_str(a.host, "::1", "  host without brackets");
    ok(addr("[fe80::1]", &a) == 0 && a.port == 6379,
       "[IPv6] with the default port");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(addr(bad[i], &a) != 0, "refused: \"%s\"", bad[i]);
    }

    memset(big, 'a', sizeof(big));
    ok(lg_redis_addr_parse(big, 255, 1, &a) == 0, "a 255-byte host");
    ok(lg_redis_addr_parse(big, 256, 1, &a) != 0, "a 256-byte host");

    addr("Redis-1.Example:1", &a);
    addr("redis-1.example:1", &b);
    ok(lg_redis_addr_eq(&a, &b), "host names compare without case");
    addr("redis-1.example:2", &b);
    ok(!lg_redis_addr_eq(&a, &b), "ports differ");
}


static void
test_role(void)
{
    redisReply  *r;

    r = R("*3\r\n$6\r\nmaster\r\n:3129659\r\n*1\r\n*3\r\n$9\r\n127.0.0.1"
          "\r\n$4\r\n9001\r\n$7\r\n3129242\r\n");
    is_int(lg_redis_role(r), LG_REDIS_ROLE_MASTER, "ROLE of a master");
    freeReplyObject(r);

    r = R("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:9000\r\n$9\r\nconnected"
          "\r\n:3167038\r\n");
    is_int(lg_redis_role(r), LG_REDIS_ROLE_REPLICA, "ROLE of a replica");
    freeReplyObject(r);

    r = R("*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n");
    is_int(lg_redis_role(r), LG_REDIS_ROLE_SENTINEL, "ROLE of a Sentinel");
    freeReplyObject(r);

    r = R("-ERR unknown command 'ROLE'\r\n");
    is_int(lg_redis_role(r), -1, "an error is no role");
    freeReplyObject(r);

    r = R("*0\r\n");
    is_int(lg_redis_role(r), -1, "an empty array is no role");
    freeReplyObject(r);

    r = R("*1\r\n$7\r\nmasters\r\n");
    is_int(lg_redis_role(r), -1, "an unknown role");
    freeReplyObject(r);

    r = R("*1\r\n:1\r\n");
    is_int(lg_redis_role(r), -1, "a number is no role");
    freeReplyObject(r);
}


/* a CLUSTER SLOTS reply of three masters with one replica each (7.0) */

static const char  three_masters[] =
    "*3\r\n"
    "*4\r\n:0\r\n:5460\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30001\r\n"
    "$40\r\n09dbe9720cda62f7865eabc5fd8857c5d2678366\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30004\r\n"
    "$40\r\n821d8ca00d7ccf931ed3ffc7e3db0599d2271abf\r\n*0\r\n"
    "*4\r\n:5461\r\n:10922\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30002\r\n"
    "$40\r\nc9d93d9f2c0c524ff34cc11838c2003d8c29e013\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30005\r\n"
    "$40\r\nfaadb3eb99009de4ab72ad6b6ed87634c7ee410f\r\n*0\r\n"
    "*4\r\n:10923\r\n:16383\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30003\r\n"
    "$40\r\n044ec91f325b7595e76dbcb18cc688b6a5b434a1\r\n"
    "*2\r\n$8\r\nhostname\r\n$12\r\nhost-3.local\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30006\r\n"
    "$40\r\n58e6e48d41228013e5d9c1c37c5060693925e97e\r\n*0\r\n";


/* CLUSTER SLOTS of three masters, captured from redis-server 7.0.15 */

static const char  captured[] =
    "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:43653\r\n$40\r\n"
    "e4e9c90beb8b607cfbba1c0abba6bb989309bee7\r\n*0\r\n*3\r\n:5461\r\n"
    ":10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:34109\r\n$40\r\n"
    "5807faf11bb77e25d3537c598c29f7aea6928bb9\r\n*0\r\n*3\r\n:10923\r\n"
    ":16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:36923\r\n$40\r\n"
    "44376471348829139e613b6d136b9f503427a2ee\r\n*0\r\n";


static int
slots(const char *bytes, size_t len, const char *def, const char **err)
{
    int          rc;
    redisReply  *r;

    *err = "";
    r = resp(bytes, len);
    rc = lg_redis_slots_parse(&map, r, def, err);
    freeReplyObject(r);

    return rc;
}

#define SLOTS(s, def, err)  slots(s, sizeof(s) - 1, def, err)


static void
test_slot_map(void)
{
    int                  n;
    char                *buf, *p;
    size_t               i;
    const char          *err;
    lg_redis_addr_t      a;

    static const struct {
        const char  *name;
        const char  *bytes;
    } bad[] = {
        { "a status reply", "+OK\r\n" },
        { "an error reply", "-ERR This instance has cluster support "
                            "disabled\r\n" },
        { "a null reply", "*-1\r\n" },
        { "a range of two elements", "*1\r\n*2\r\n:0\r\n:1\r\n" },
        { "a range that is not an array", "*1\r\n:0\r\n" },
        { "a start that is a string",
          "*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\na\r\n:1\r\n" },
        { "an end past 16383",
          "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\na\r\n:1\r\n" },
        { "a negative start",
          "*1\r\n*3\r\n:-1\r\n:5\r\n*2\r\n$1\r\na\r\n:1\r\n" },
        { "start after end",
          "*1\r\n*3\r\n:6\r\n:5\r\n*2\r\n$1\r\na\r\n:1\r\n" },
        { "overlapping ranges",
          "*2\r\n*3\r\n:0\r\n:10\r\n*2\r\n$1\r\na\r\n:1\r\n"
          "*3\r\n:10\r\n:20\r\n*2\r\n$1\r\nb\r\n:1\r\n" },
        { "a master of one element",
          "*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\na\r\n" },
        { "a master that is a string",
          "*1\r\n*3\r\n:0\r\n:1\r\n$1\r\na\r\n" },
        { "a port that is a string",
          "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\na\r\n$4\r\n6379\r\n" },
        { "a port past 65535",
          "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\na\r\n:65536\r\n" },
        { "a host that is a number",
          "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:1\r\n:6379\r\n" },
        { "a host with a space",
          "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$3\r\na b\r\n:6379\r\n" },
    };

    ok(SLOTS(three_masters, NULL, &err) == 0, "three masters: parsed");
    is_int(map.nnodes, 3, "  three nodes (replicas are not routed to)");
    is_int(map.nslots, 16384, "  every slot served");
    n = lg_redis_slots_node(&map, 0);
    ok(n >= 0 && map.nodes[n].port == 30001, "  slot 0 on :30001");
    n = lg_redis_slots_node(&map, 5460);
    ok(n >= 0 && map.nodes[n].port == 30001, "  slot 5460 on :30001");
    n = lg_redis_slots_node(&map, 5461);
    ok(n >= 0 && map.nodes[n].port == 30002, "  slot 5461 on :30002");
    n = lg_redis_slots_node(&map, slot_of("lg:{acme-carrier}:suspended"));
    ok(n >= 0 && map.nodes[n].port == 30003,
       "  acme-carrier's keys (slot 12225) on :30003");
    is_str(map.nodes[n].host, "127.0.0.1",
           "  the IP, not the announced host name");
    is_int(lg_redis_slots_node(&map, 16384), -1, "  no slot 16384");

    ok(SLOTS(captured, NULL, &err) == 0 && map.nnodes == 3
       && map.nslots == 16384, "a reply captured from redis-server 7.0.15");
    n = lg_redis_slots_node(&map, 10922);
    ok(n >= 0 && map.nodes[n].port == 34109
       && strcmp(map.nodes[n].host, "127.0.0.1") == 0,
       "  slot 10922 on 127.0.0.1:34109");
    n = lg_redis_slots_node(&map, 10923);
    ok(n >= 0 && map.nodes[n].port == 36923, "  slot 10923 on :36923");

    /* Redis 3: [host, port] only; one master serving two ranges */
    ok(SLOTS("*2\r\n*3\r\n:0\r\n:99\r\n*2\r\n$8\r\n10.0.0.1\r\n:7000\r\n"
             "*3\r\n:200\r\n:299\r\n*2\r\n$8\r\n10.0.0.1\r\n:7000\r\n",
             NULL, &err) == 0,
       "two ranges of one master, [host, port] entries");
    is_int(map.nnodes, 1, "  one node");
    is_int(map.nslots, 200, "  200 slots served");
    is_int(lg_redis_slots_node(&map, 150), -1, "  slot 150 has no master");
    is_int(lg_redis_slots_node(&map, 299), 0, "  slot 299 on the node");

    /* endpoints a client must fill in or skip */
    ok(SLOTS("*4\r\n"
             "*3\r\n:0\r\n:9\r\n*2\r\n$-1\r\n:7001\r\n"
             "*3\r\n:10\r\n:19\r\n*2\r\n$0\r\n\r\n:7002\r\n"
             "*3\r\n:20\r\n:29\r\n*2\r\n$1\r\n?\r\n:7003\r\n"
             "*3\r\n:30\r\n:39\r\n*2\r\n$8\r\n10.0.0.4\r\n:0\r\n",
             "10.0.0.9", &err) == 0, "unknown endpoints: parsed");
    n = lg_redis_slots_node(&map, 5);
    ok(n >= 0 && map.nodes[n].port == 7001
       && strcmp(map.nodes[n].host, "10.0.0.9") == 0,
       "  a null host is the host that was asked");
    n = lg_redis_slots_node(&map, 15);
    ok(n >= 0 && map.nodes[n].port == 7002
       && strcmp(map.nodes[n].host, "10.0.0.9") == 0,
       "  so is an empty host");
    is_int(lg_redis_slots_node(&map, 25), -1,
           "  \"?\" (host name not known yet): no master");
    is_int(lg_redis_slots_node(&map, 35), -1, "  port 0: no master");
    is_int(map.nslots, 20, "  20 slots served");

    ok(SLOTS("*1\r\n*3\r\n:0\r\n:9\r\n*2\r\n$-1\r\n:7001\r\n", NULL, &err)
       == 0 && map.nslots == 0,
       "a null host and no default host: no master");

    ok(SLOTS("*0\r\n", NULL, &err) == 0 && map.nslots == 0
       && map.nnodes == 0, "no slots assigned yet: an empty map");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        SLOTS(three_masters, NULL, &err);
        ok(slots(bad[i].bytes, strlen(bad[i].bytes), "h", &err) != 0
           && map.nnodes == 0 && map.nslots == 0
           && lg_redis_slots_node(&map, 0) == -1,
           "refused, map emptied: %s (%s)", bad[i].name, err);
    }

    ok(lg_redis_slots_parse(&map, NULL, NULL, &err) != 0, "no reply");

    /* one range per master: 256 fit, 257 do not */

    buf = malloc(64 * 1024);

    for (n = 256; n <= 257; n++) {
        p = buf + sprintf(buf, "*%d\r\n", n);

        for (i = 0; i < (size_t) n; i++) {
            p += sprintf(p, "*3\r\n:%zu\r\n:%zu\r\n*2\r\n$8\r\n10.0.0.1\r\n"
                         ":%zu\r\n", i, i, 1000 + i);
        }

        if (n == 256) {
            ok(slots(buf, p - buf, NULL, &err) == 0 && map.nnodes == 256,
               "256 masters fit");

        } else {
            ok(slots(buf, p - buf, NULL, &err) != 0
               && strcmp(err, "too many masters") == 0,
               "257 masters do not");
        }
    }

    /* -MOVED patches the map */

    SLOTS(three_masters, NULL, &err);
    addr("127.0.0.1:30002", &a);
    n = lg_redis_slots_move(&map, 0, &a);
    ok(n >= 0 && lg_redis_slots_node(&map, 0) == n
       && map.nodes[n].port == 30002 && map.nnodes == 3,
       "MOVED to a known master: no new node");
    addr("127.0.0.1:30007", &a);
    n = lg_redis_slots_move(&map, 1, &a);
    ok(n == 3 && lg_redis_slots_node(&map, 1) == 3 && map.nnodes == 4,
       "MOVED to a new master: added");
    is_int(map.nslots, 16384, "  still every slot served");
    ok(lg_redis_slots_move(&map, 16384, &a) == -1, "no slot 16384");

    ok(SLOTS("*1\r\n*3\r\n:0\r\n:9\r\n*2\r\n$1\r\na\r\n:1\r\n", NULL, &err)
       == 0, "ten slots");
    n = lg_redis_slots_move(&map, 100, &a);
    ok(n == 1 && map.nslots == 11, "MOVED for an unserved slot counts it");

    p = buf + sprintf(buf, "*256\r\n");

    for (i = 0; i < 256; i++) {
        p += sprintf(p, "*3\r\n:%zu\r\n:%zu\r\n*2\r\n$8\r\n10.0.0.1\r\n"
                     ":%zu\r\n", i, i, 1000 + i);
    }

    slots(buf, p - buf, NULL, &err);
    addr("10.0.0.2:1000", &a);
    ok(lg_redis_slots_move(&map, 300, &a) == -1
       && lg_redis_slots_node(&map, 300) == -1,
       "MOVED to a 257th master: refused, map unchanged");

    free(buf);
}


static void
test_sentinel(void)
{
    redisReply       *r;
    lg_redis_addr_t   a;

    r = R("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n");
    ok(lg_redis_sentinel_master(r, &a) == LG_REDIS_SENTINEL_KNOWN
       && a.port == 6380, "get-master-addr-by-name: [host, port]");
    is_str(a.host, "127.0.0.1", "  host");
    freeReplyObject(r);

    r = R("*2\r\n$3\r\n::1\r\n:6381\r\n");
    ok(lg_redis_sentinel_master(r, &a) == LG_REDIS_SENTINEL_KNOWN
       && a.port == 6381 && strcmp(a.host, "::1") == 0,
       "a numeric port is as good");
    freeReplyObject(r);

    r = R("*-1\r\n");
    is_int(lg_redis_sentinel_master(r, &a), LG_REDIS_SENTINEL_UNKNOWN,
           "a null array: the Sentinel does not know that name");
    freeReplyObject(r);

    r = R("$-1\r\n");
    is_int(lg_redis_sentinel_master(r, &a), LG_REDIS_SENTINEL_UNKNOWN,
           "a null bulk string: the same");
    freeReplyObject(r);

    r = R("-IDONTKNOW I'm not yet sure about the master\r\n");
    is_int(lg_redis_sentinel_master(r, &a), LG_REDIS_SENTINEL_BAD,
           "an error reply");
    freeReplyObject(r);

    r = R("*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n");
    is_int(lg_redis_sentinel_master(r, &a), LG_REDIS_SENTINEL_BAD,
           "port 0");
    freeReplyObject(r);

    r = R("*2\r\n$9\r\n127.0.0.1\r\n$6\r\n6379xx\r\n");
    is_int(lg_redis_sentinel_master(r, &a), LG_REDIS_SENTINEL_BAD,
           "a port that is no number");
    freeReplyObject(r);

    r = R("*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n$1\r\nx\r\n");
    is_int(lg_redis_sentinel_master(r, &a), LG_REDIS_SENTINEL_BAD,
           "three elements");
    freeReplyObject(r);

    r = R("*2\r\n$0\r\n\r\n$4\r\n6379\r\n");
    is_int(lg_redis_sentinel_master(r, &a), LG_REDIS_SENTINEL_BAD,
           "an empty host");
    freeReplyObject(r);

    is_int(lg_redis_sentinel_master(NULL, &a), LG_REDIS_SENTINEL_BAD,
           "no reply");
}


static void
test_switch_master(void)
{
    size_t            i;
    redisReply       *r;
    lg_redis_addr_t   a;

    static const struct {
        const char  *name;
        const char  *payload;
        int          rc;
    } payloads[] = {
        { "another group", "other 127.0.0.1 6379 127.0.0.1 6380", 0 },
        { "a group whose name starts like ours",
          "lgmaster2 127.0.0.1 6379 127.0.0.1 6380", 0 },
        { "four words", "lgmaster 127.0.0.1 6379 127.0.0.1", -1 },
        { "six words", "lgmaster 127.0.0.1 6379 127.0.0.1 6380 x", -1 },
        { "two spaces", "lgmaster  127.0.0.1 6379 127.0.0.1 6380", -1 },
        { "a trailing space", "lgmaster 127.0.0.1 6379 127.0.0.1 6380 ",
          -1 },
        { "a new port of 0", "lgmaster 127.0.0.1 6379 127.0.0.1 0", -1 },
        { "a new port past 65535",
          "lgmaster 127.0.0.1 6379 127.0.0.1 65536", -1 },
        { "an old port that is no number",
          "lgmaster 127.0.0.1 x 127.0.0.1 6380", -1 },
        { "nothing", "", -1 },
    };

    r = R("*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n"
          "$38\r\nlgmaster 127.0.0.1 6379 127.0.0.2 6380\r\n");
    ok(lg_redis_sentinel_switch(r, "lgmaster", 8, &a) == 1 && a.port == 6380,
       "+switch-master of our group");
    is_str(a.host, "127.0.0.2", "  the new master's host");
    freeReplyObject(r);

    r = R("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$14\r\n+switch-master\r\n"
          "$38\r\nlgmaster 127.0.0.1 6379 127.0.0.3 6381\r\n");
    ok(lg_redis_sentinel_switch(r, "lgmaster", 8, &a) == 1
       && a.port == 6381 && strcmp(a.host, "127.0.0.3") == 0,
       "the pmessage form");
    freeReplyObject(r);

    r = R("*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n");
    is_int(lg_redis_sentinel_switch(r, "lgmaster", 8, &a), 0,
           "the subscribe confirmation is no news");
    freeReplyObject(r);

    r = R("*3\r\n$7\r\nmessage\r\n$6\r\n+sdown\r\n"
          "$30\r\nmaster lgmaster 127.0.0.1 6379\r\n");
    is_int(lg_redis_sentinel_switch(r, "lgmaster", 8, &a), 0,
           "another channel is no news");
    freeReplyObject(r);

    r = R("*2\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n");
    is_int(lg_redis_sentinel_switch(r, "lgmaster", 8, &a), -1,
           "a message without a payload");
    freeReplyObject(r);

    r = R("*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n:1\r\n");
    is_int(lg_redis_sentinel_switch(r, "lgmaster", 8, &a), -1,
           "a payload that is a number");
    freeReplyObject(r);

    r = R("+OK\r\n");
    is_int(lg_redis_sentinel_switch(r, "lgmaster", 8, &a), -1,
           "not a message");
    freeReplyObject(r);

    for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        is_int(lg_redis_sentinel_switch_payload(payloads[i].payload,
                   strlen(payloads[i].payload), "lgmaster", 8, &a),
               payloads[i].rc, "payload: %s", payloads[i].name);
    }

    ok(lg_redis_sentinel_switch_payload("lgmaster ::1 6379 ::2 6380", 26,
                                        "lgmaster", 8, &a) == 1
       && strcmp(a.host, "::2") == 0 && a.port == 6380, "IPv6 masters");
}


int
main(void)
{
    test_slots_of_keys();
    test_error_kinds();
    test_redirects();
    test_addresses();
    test_role();
    test_slot_map();
    test_sentinel();
    test_switch_master();

    return lg_unit_done();
}
