
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LOGISTICS_CLI_H_INCLUDED_
#define _LOGISTICS_CLI_H_INCLUDED_


/* suspend (1) or reinstate (0) a partner in Redis; 2 means usage */
int lg_cli_suspend(int argc, char **argv, int suspend);

/* revoke one token id of a partner in Redis; 2 means usage */
int lg_cli_revoke_token(int argc, char **argv);

/* the exposition of a policy with made-up values; 2 means usage */
int lg_cli_metrics_sample(int argc, char **argv);

/* the metric families and decision words as Markdown; 2 means usage */
int lg_cli_metrics_families(int argc, char **argv);


#endif /* _LOGISTICS_CLI_H_INCLUDED_ */
