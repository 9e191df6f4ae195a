// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the web configuration parser and the Authorization header check must never
 * crash or leak. The first byte chooses: even, the input is a web configuration (YAML; file
 * names resolve under a directory that does not exist); odd, the rest is an Authorization
 * header checked against a fixed configuration with one user and one token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* bcrypt (cost 4) of "s3cret", and the SHA-256 of "0123456789abcdef-token". */
static const char fixed[] =
	"basic_auth_users:\n"
	"  alice: $2b$04$RNNrAHeQg9PS9WfI/vQUde5EhpYcAfjx7tmmCs/lrb7lCfv6y45Aq\n"
	"bearer_tokens:\n"
	"  - token_sha256: 3c18109ce815143332983177dfecc23e848446a79ddcca321f551496e0de9c70\n"
	"    scopes: [read, ack]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct web_config fixed_cfg;
	static int loaded;
	struct web_config w;
	char err[512], *text;
	const char *who;
	int s;

	if (!size)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	if (!(data[0] & 1)) {
		if (webconfig__parse(&w, text, size - 1, "fuzz", "/nonexistent", err,
				     sizeof(err))) {
			if (!err[0] || strchr(err, '\n'))
				abort(); /* a refusal is always one line that says why */
		} else {
			webconfig__free(&w);
		}
	} else {
		if (!loaded) {
			if (webconfig__parse(&fixed_cfg, fixed, strlen(fixed), "fixed", "/", err,
					     sizeof(err)))
				abort();
			loaded = 1;
		}
		s = webconfig__authorize(&fixed_cfg, text, &who);
		if (s >= 0 && !who)
			abort(); /* a grant always names whom */
	}
	free(text);
	return 0;
}
