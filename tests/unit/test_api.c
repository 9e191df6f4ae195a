// SPDX-License-Identifier: MIT
/* JSON documents of the API: the one error document, and RFC 3339 times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static void test_error_document(void **state)
{
	char *text;

	(void)state;
	text = api__error("not found: /api/v1/nope (see / for the endpoints)");
	assert_non_null(text);
	assert_string_equal(text,
			    "{\"status\":\"error\",\"error\":\"not found: /api/v1/nope (see / "
			    "for the endpoints)\"}");
	free(text);
	/* Quotes, backslashes and control characters are escaped, not passed through. */
	text = api__error("bad \"x\"\\\n");
	assert_non_null(text);
	assert_string_equal(text, "{\"status\":\"error\",\"error\":\"bad \\\"x\\\"\\\\\\n\"}");
	free(text);
}

static void test_rfc3339_milliseconds(void **state)
{
	char buf[40];

	(void)state;
	api__rfc3339(1700000000.9999, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20.999Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_document),
		cmocka_unit_test(test_rfc3339_milliseconds),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
