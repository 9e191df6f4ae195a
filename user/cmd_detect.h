/* SPDX-License-Identifier: MIT */
#ifndef SWARMWATCH_CMD_DETECT_H
#define SWARMWATCH_CMD_DETECT_H

/*
 * cmd_detect - `swarmwatch detect`: score a `timestamp,value` CSV file offline with the same
 * detectors the daemon runs and write `timestamp,value,anomaly_score,is_anomaly`. argv[0] is
 * "detect". Returns the process exit code: 0 on success, 1 on bad input or I/O failure, 2 on a
 * usage error.
 */
int cmd_detect(int argc, char **argv);

#endif /* SWARMWATCH_CMD_DETECT_H */
