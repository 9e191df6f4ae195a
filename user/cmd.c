// SPDX-License-Identifier: MIT
/* What the subcommands share. */
#include "cmd.h"
#include "config.h"
#include "log.h"

int cmd__load_config(struct config *c, const char *path)
{
	char err[768];
	int ret;

	if (path)
		ret = config__load(c, path, err, sizeof(err));
	else
		ret = config__parse(c, config__builtin, "built-in defaults", err, sizeof(err));
	if (ret)
		pr_err("config: %s", err);
	return ret;
}
