/* SPDX-License-Identifier: MIT */
#ifndef SW_DAEMON_H
#define SW_DAEMON_H

/* `swarmwatch run` and `swarmwatch check-config`; argv[0] is the subcommand. */
int cmd_run(int argc, char **argv);
int cmd_check_config(int argc, char **argv);

#endif
