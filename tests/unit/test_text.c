// SPDX-License-Identifier: MIT
/* Outside text to names, label values, HTML and JSON: always valid UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "swarmwatch.h"
#include "text.h"

#define R "\xef\xbf\xbd" /* U+FFFD */

/* text__name() of the NUL-terminated s into a SW_NAME_LEN buffer. */
static const char *name_of(const char *s, size_t len)
{
	static char name[SW_NAME_LEN];

	text__name(name, sizeof(name), s, len);
	return name;
}

static void test_valid_kept(void **state)
{
	(void)state;
	assert_string_equal(name_of("probe", 5), "probe");
	assert_string_equal(name_of("caf\xc3\xa9", 5), "caf\xc3\xa9");
	assert_string_equal(name_of("\xf0\x9f\xa4\x96 bot", 8), "\xf0\x9f\xa4\x96 bot");
	/* The boundaries of the valid ranges. */
	assert_string_equal(name_of("\xc2\xa0\xdf\xbf", 4), "\xc2\xa0\xdf\xbf");
	assert_string_equal(name_of("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80", 9),
			    "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80");
	assert_string_equal(name_of("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8),
			    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
	assert_true(text__valid("\xf4\x8f\xbf\xbf", 4));
}

static void test_invalid_replaced(void **state)
{
	(void)state;
	/* The report's name: E6 AD is the start of a 3-byte character cut by 'n'. */
	assert_string_equal(name_of("bad\xe6\xadname", 9), "bad" R "name");
	assert_false(text__valid("bad\xe6\xadname", 9));
	/* Lone continuation bytes and bytes that never occur: one U+FFFD each. */
	assert_string_equal(name_of("a\x80\xbf"
				    "b",
				    4),
			    "a" R R "b");
	assert_string_equal(name_of("\xc0\xc1\xf5\xff", 4), R R R R);
	/* A lead byte followed by another lead byte. */
	assert_string_equal(name_of("\xc3\xc3\xa9", 3), R "\xc3\xa9");
	/* A sequence cut by the end of the input. */
	assert_string_equal(name_of("ab\xe3\x82", 4), "ab" R);
	assert_string_equal(name_of("\xf0\x9f\xa4", 3), R);
}

static void test_overlong_and_surrogates(void **state)
{
	(void)state;
	/* Overlong '/' (C0 AF, E0 80 AF, F0 80 80 AF): each byte stands alone. */
	assert_string_equal(name_of("\xc0\xaf", 2), R R);
	assert_string_equal(name_of("\xe0\x80\xaf", 3), R R R);
	assert_string_equal(name_of("\xf0\x80\x80\xaf", 4), R R R R);
	assert_false(text__valid("\xe0\x9f\xbf", 3));
	/* Surrogates U+D800 and U+DFFF, encoded as if they were characters. */
	assert_string_equal(name_of("\xed\xa0\x80", 3), R R R);
	assert_string_equal(name_of("\xed\xbf\xbf", 3), R R R);
	assert_false(text__valid("\xed\xa0\x80", 3));
	/* Past U+10FFFF. */
	assert_string_equal(name_of("\xf4\x90\x80\x80", 4), R R R R);
	assert_false(text__valid("\xf4\x90\x80\x80", 4));
}

static void test_controls_replaced(void **state)
{
	(void)state;
	assert_string_equal(name_of("a\tb\nc\x7f"
				    "d",
				    7),
			    "a" R "b" R "c" R "d");
	/* NUL is a byte like any other in the input. */
	assert_string_equal(name_of("a\0b", 3), "a" R "b");
	/* C1 controls U+0080 and U+009F, but not U+00A0. */
	assert_string_equal(name_of("\xc2\x80\xc2\x9f\xc2\xa0", 6), R R "\xc2\xa0");
}

static void test_cut_on_character(void **state)
{
	const char *jp = "エージェントエージェント"; /* 12 characters, 36 bytes */
	char small[5];
	size_t n;

	(void)state;
	assert_int_equal(strlen(jp), 36);
	/* 31 bytes hold 10 whole characters (30 bytes), not a part of the 11th. */
	assert_string_equal(name_of(jp, strlen(jp)), "エージェントエージェ");
	assert_true(text__valid(name_of(jp, strlen(jp)), 30));
	/* 31 ASCII bytes fit exactly; the 32nd is cut. */
	assert_string_equal(name_of("abcdefghijklmnopqrstuvwxyz01234567", 34),
			    "abcdefghijklmnopqrstuvwxyz01234");
	/* A replacement that does not fit is left out whole. */
	n = text__name(small, sizeof(small), "ab\xff", 3);
	assert_int_equal(n, 2);
	assert_string_equal(small, "ab");
	n = text__name(small, sizeof(small), "a\xff", 2);
	assert_int_equal(n, 4);
	assert_string_equal(small, "a" R);
	/* A 4-byte character needs the whole of size - 1. */
	assert_int_equal(text__name(small, 4, "\xf0\x9f\xa4\x96", 4), 0);
	assert_int_equal(text__name(small, 5, "\xf0\x9f\xa4\x96", 4), 4);
	assert_int_equal(text__name(small, 0, "x", 1), 0);
	assert_int_equal(text__name(small, 1, "x", 1), 0);
	assert_string_equal(small, "");
}

static void test_name_is_idempotent(void **state)
{
	const char *in = "bad\xe6\xadname\xff\tエージェントエージェント";
	char once[SW_NAME_LEN], twice[SW_NAME_LEN];

	(void)state;
	text__name(once, sizeof(once), in, strlen(in));
	text__name(twice, sizeof(twice), once, strlen(once));
	assert_string_equal(once, twice);
	assert_true(text__valid(once, strlen(once)));
}

static void test_prom_label(void **state)
{
	struct buf b;

	(void)state;
	buf__init(&b);
	text__prom_label(&b, "a\\b\"c\nd");
	assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
	buf__reset(&b);
	text__prom_label(&b, "bad\xe6\xadname\t\x01");
	assert_string_equal(b.data, "bad" R "name" R R);
	buf__reset(&b);
	text__prom_label(&b, "エージェント");
	assert_string_equal(b.data, "エージェント");
	buf__free(&b);
}

static void test_html(void **state)
{
	struct buf b;

	(void)state;
	buf__init(&b);
	text__html(&b, "<a href=\"x\">O'Neil & co</a>");
	assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
	buf__reset(&b);
	text__html(&b, "bad\xe6\xadname\t\x1b[0m");
	assert_string_equal(b.data, "bad" R "name\t" R "[0m");
	buf__free(&b);
}

static void test_json(void **state)
{
	json_t *j, *back;
	char *text;

	(void)state;
	j = text__json("bad\xe6\xadname\x01");
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "bad" R "name\x01");
	text = json_dumps(j, JSON_ENCODE_ANY);
	assert_non_null(text);
	assert_string_equal(text, "\"bad" R "name\\u0001\"");
	back = json_loads(text, JSON_DECODE_ANY, NULL);
	assert_non_null(back);
	assert_true(json_equal(j, back));
	json_decref(back);
	free(text);
	json_decref(j);
	/* Proof that the replacement is needed: jansson refuses the raw bytes. */
	assert_null(json_string("bad\xe6\xadname"));
	j = text__json("");
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

/* A terminal cell is counted in columns, not bytes: what swarmwatch top aligns its rows with. */
static void test_fit_columns(void **state)
{
	char out[200];

	(void)state;
	assert_non_null(setlocale(LC_ALL, "C.UTF-8"));
	/* ASCII: cut or padded to the width. */
	text__fit(out, sizeof(out), "planner", 10, true);
	assert_string_equal(out, "planner   ");
	text__fit(out, sizeof(out), "abcdefghijkl", 5, true);
	assert_string_equal(out, "abcde");
	/* U+FFFD is 3 bytes and one column: padded as one column. */
	text__fit(out, sizeof(out),
		  "bad\xef\xbf\xbd"
		  "name",
		  10, true);
	assert_string_equal(out, "bad\xef\xbf\xbd"
				 "name  ");
	/* Katakana take two columns each, and are never cut in half. */
	text__fit(out, sizeof(out), "\xe3\x82\xa8\xe3\x83\xbc\xe3\x82\xb8", 5, true);
	assert_string_equal(out, "\xe3\x82\xa8\xe3\x83\xbc ");
	/* Invalid UTF-8 and, without a UTF-8 terminal, any non-ASCII: one '?' each. */
	text__fit(out, sizeof(out),
		  "a\xe6\xad"
		  "b",
		  4, true);
	assert_string_equal(out, "a?b ");
	text__fit(out, sizeof(out), "\xc3\xa9t\xc3\xa9", 4, false);
	assert_string_equal(out, "?t? ");
	/* A small buffer ends the text on a whole character. */
	text__fit(out, 5, "\xc3\xa9\xc3\xa9\xc3\xa9", 10, true);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9");
	setlocale(LC_ALL, "C");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_kept),
		cmocka_unit_test(test_invalid_replaced),
		cmocka_unit_test(test_overlong_and_surrogates),
		cmocka_unit_test(test_controls_replaced),
		cmocka_unit_test(test_cut_on_character),
		cmocka_unit_test(test_name_is_idempotent),
		cmocka_unit_test(test_prom_label),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_fit_columns),
	};

	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
