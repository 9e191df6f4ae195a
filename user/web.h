/* SPDX-License-Identifier: MIT */
/*
 * web: the dashboard's files (user/web/, and uPlot from tools/web/node_modules when make deps
 * installed it), embedded into the binary at build time by tools/web-assets, so that nothing is
 * fetched at run time and nothing is read from disk.
 */
#ifndef SW_WEB_H
#define SW_WEB_H

#include <stddef.h>

struct web_asset {
	const char *path; /* URL path: "/" for index.html, "/app.js", "/uplot.js" */
	const char *type; /* Content-Type */
	const unsigned char *data; /* len bytes, then a NUL */
	size_t len;
};

extern const struct web_asset web_assets[];
extern const int web_nassets;
extern const int web_charts; /* 1: uPlot is embedded, the dashboard draws charts */

/* The asset served at path, or NULL. */
const struct web_asset *web__find(const char *path);

#endif
