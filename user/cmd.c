// SPDX-License-Identifier: MIT
/* What the subcommands share. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int cmd__web_config_path(struct config *c, const char *config_path)
{
	const char *slash = config_path ? strrchr(config_path, '/') : NULL;
	char path[sizeof(c->web_config_file)];
	int n;

	if (!c->web_config_file[0] || c->web_config_file[0] == '/' || !slash)
		return 0;
	n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - config_path), config_path,
		     c->web_config_file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(c->web_config_file, path, sizeof(path));
	return 0;
}
