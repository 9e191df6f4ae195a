/* SPDX-License-Identifier: MIT */
/*
 * The subcommands of the swarmwatch command line, one file each (cmd_<name>.c), dispatched
 * from main.c. Each takes argv with argv[0] the subcommand's name and returns the process exit
 * status: 0 on success, 1 when the work failed, 2 on a usage error.
 */
#ifndef SW_CMD_H
#define SW_CMD_H

struct config;

/*
 * Makes the configuration's web_config_file, when relative, relative to the directory of
 * config_path (the file that named it; NULL: the current directory). Returns 0, or -ENAMETOOLONG
 * with the name left as it was.
 */
int cmd__web_config_path(struct config *c, const char *config_path);

/* `swarmwatch run`: load, tag, then tick until SIGINT or SIGTERM. */
int cmd_run(int argc, char **argv);

/* `swarmwatch check-config FILE | --defaults`: validate a configuration, or print the built-in. */
int cmd_check_config(int argc, char **argv);

/*
 * cmd_detect - `swarmwatch detect`: score a `timestamp,value` CSV file offline with the same
 * detectors the daemon runs and write `timestamp,value,anomaly_score,is_anomaly`.
 */
int cmd_detect(int argc, char **argv);

/*
 * cmd_query - `swarmwatch query`: a running daemon's history (range queries, series, agents)
 * through its HTTP API, as text or JSON.
 */
int cmd_query(int argc, char **argv);

/*
 * cmd_top - `swarmwatch top [--url URL]`: a live terminal view of the agents over the
 * daemon's /api/v1/stream, sorted by any column, with sparklines and one agent's upstreams.
 */
int cmd_top(int argc, char **argv);

/* `swarmwatch version`: the version of swarmwatch and of the libbpf it runs with. */
int cmd_version(int argc, char **argv);

/*
 * Loads the configuration from path, or the built-in defaults when path is NULL. 0, or -errno
 * after logging the one-line reason (file, line and column).
 */
int cmd__load_config(struct config *c, const char *path);

#endif
