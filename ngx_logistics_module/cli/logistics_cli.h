
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LOGISTICS_CLI_H_INCLUDED_
#define _LOGISTICS_CLI_H_INCLUDED_


#include <stdio.h>


/* suspend (1) or reinstate (0) a partner in Redis; 2 means usage */
int lg_cli_suspend(int argc, char **argv, int suspend);

/* delete the limit states POLICY does not have; 2 means usage */
int lg_cli_redis_cleanup(int argc, char **argv);

/* revoke one token id of a partner in Redis; 2 means usage */
int lg_cli_revoke_token(int argc, char **argv);

/* set or lift the brownout level of every gateway node; 2 means usage */
int lg_cli_degrade(int argc, char **argv);

/*
 * webhook-sign, webhook-verify, webhook-keygen: 0 done (verify: the
 * request verifies), 1 refused or failed, 2 unusable arguments or files
 */
int lg_cli_webhook_sign(int argc, char **argv);
int lg_cli_webhook_verify(int argc, char **argv);
int lg_cli_webhook_keygen(int argc, char **argv);
/* the exposition of a policy with made-up values; 2 means usage */
int lg_cli_metrics_sample(int argc, char **argv);

/* the metric families and decision words as Markdown; 2 means usage */
int lg_cli_metrics_families(int argc, char **argv);

/* the Redis options of those commands: one node, Sentinel, Cluster, TLS */
void lg_cli_redis_usage(FILE *out);


#endif /* _LOGISTICS_CLI_H_INCLUDED_ */
