// SPDX-License-Identifier: MIT
/* Lookup of the embedded dashboard files; the files themselves are generated (web.h). */
#include <string.h>

#include "web.h"

const struct web_asset *web__find(const char *path)
{
	int i;

	for (i = 0; i < web_nassets; i++)
		if (!strcmp(web_assets[i].path, path))
			return &web_assets[i];
	return NULL;
}
