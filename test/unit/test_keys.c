/*
 * test_keys.c - task and ready index keys (src/keys.c).
 */
#include "postgres_fe.h"

#include "keys.h"
#include "unit.h"

#define ID "3f2b8c1e-9d4a-4e6b-8f00-1c2d3e4f5a6b"

static void
check_key_error(const char *key, int prefix_len, const char *want)
{
	char		id[OQ_UUID_LEN + 1];
	char	   *err = NULL;
	bool		ok = oq_task_key_parse(key, prefix_len, id, &err);

	CHECK(!ok, "key \"%s\" (prefix %d) is refused", key, prefix_len);
	CHECK_STR(err, want, "message for \"%s\"", key);
}

int
main(void)
{
	char		shard[OQ_MAX_SHARD_PREFIX_LEN + 1];
	char		id[OQ_UUID_LEN + 1];
	char	   *err;

	/* canonical UUIDs */
	CHECK(oq_uuid_is_canonical(ID, strlen(ID)), "canonical id");
	CHECK(oq_uuid_is_canonical("00000000-0000-0000-0000-000000000000", 36), "nil uuid");
	CHECK(!oq_uuid_is_canonical("3F2B8C1E-9D4A-4E6B-8F00-1C2D3E4F5A6B", 36), "uppercase refused");
	CHECK(!oq_uuid_is_canonical("3f2b8c1e9d4a4e6b8f001c2d3e4f5a6b", 32), "unhyphenated refused");
	CHECK(!oq_uuid_is_canonical("{3f2b8c1e-9d4a-4e6b-8f00-1c2d3e4f5a6b}", 38), "braces refused");
	CHECK(!oq_uuid_is_canonical("3f2b8c1e-9d4a-4e6b-8f00-1c2d3e4f5a6", 35), "short refused");
	CHECK(!oq_uuid_is_canonical(ID "0", 37), "long refused");
	CHECK(!oq_uuid_is_canonical("3f2b8c1e-9d4a-4e6b-8f00-1c2d3e4f5a6g", 36), "non-hex refused");
	CHECK(!oq_uuid_is_canonical("3f2b8c1e-9d4a-4e6b-8f00+1c2d3e4f5a6b", 36), "wrong separator refused");
	CHECK(!oq_uuid_is_canonical("3f2b8c1e9-d4a-4e6b-8f00-1c2d3e4f5a6b", 36), "misplaced hyphen refused");
	CHECK(!oq_uuid_is_canonical(ID, 35), "len is honoured");
	CHECK(oq_uuid_is_valid("3F2B8C1E-9d4a-4E6B-8F00-1C2D3E4F5A6B", 36), "any case is valid");
	CHECK(oq_uuid_is_valid(ID, 36), "canonical is valid");
	CHECK(!oq_uuid_is_valid("3f2b8c1e9d4a4e6b8f001c2d3e4f5a6b", 32) &&
		  !oq_uuid_is_valid("3G2B8C1E-9D4A-4E6B-8F00-1C2D3E4F5A6B", 36) &&
		  !oq_uuid_is_valid("3F2B8C1E-9D4A-4E6B-8F00-1C2D3E4F5A6", 35), "valid still needs the syntax");

	/* shards: the first N hex digits, hyphens skipped */
	oq_task_shard(ID, 1, shard);
	CHECK_STR(shard, "3", "shard of length 1");
	oq_task_shard(ID, 2, shard);
	CHECK_STR(shard, "3f", "shard of length 2");
	oq_task_shard(ID, 4, shard);
	CHECK_STR(shard, "3f2b", "shard of length 4");
	oq_task_shard("3f2-b8c1e", 4, shard);
	CHECK_STR(shard, "3f2b", "hyphens are skipped");

	/* task keys */
	CHECK_STR(oq_task_key(ID, 1), "tasks/3/" ID ".json", "task key, prefix 1");
	CHECK_STR(oq_task_key(ID, 3), "tasks/3f2/" ID ".json", "task key, prefix 3");
	CHECK_STR(oq_task_key("0a6f3c52-7d1e-4b8a-9c2f-3e4d5a6b7c8d", 1),
			  "tasks/0/0a6f3c52-7d1e-4b8a-9c2f-3e4d5a6b7c8d.json",
			  "the pending-with-tags fixture's key");

	/* parse: the key written for every prefix length reads back */
	for (int n = 1; n <= OQ_MAX_SHARD_PREFIX_LEN; n++)
	{
		char	   *key = oq_task_key(ID, n);

		err = NULL;
		memset(id, 0, sizeof(id));
		CHECK(oq_task_key_parse(key, n, id, &err) && strcmp(id, ID) == 0 && err == NULL,
			  "parse %s with prefix %d", key, n);
	}
	CHECK(oq_task_key_parse("tasks/3/" ID ".json", 1, id, NULL), "errmsg may be NULL");
	CHECK(!oq_task_key_parse("tasks/0/x.json", 1, id, NULL), "errmsg may be NULL on failure");

	/* parse: shape errors */
	check_key_error("tasks/0/x.json", 1, "key \"tasks/0/x.json\" is not tasks/{shard}/{id}.json");
	check_key_error("tasks/3/" ID, 1, "key \"tasks/3/" ID "\" is not tasks/{shard}/{id}.json");
	check_key_error("tasks/3/" ID ".jsonx", 1, "key \"tasks/3/" ID ".jsonx\" is not tasks/{shard}/{id}.json");
	check_key_error("tasks/3/" ID ".JSON", 1, "key \"tasks/3/" ID ".JSON\" is not tasks/{shard}/{id}.json");
	check_key_error("tasks//" ID ".json", 1, "key \"tasks//" ID ".json\" is not tasks/{shard}/{id}.json");
	check_key_error("tasks/" ID ".json", 1, "key \"tasks/" ID ".json\" is not tasks/{shard}/{id}.json");
	check_key_error("ready/3/" ID ".json", 1, "key \"ready/3/" ID ".json\" is not tasks/{shard}/{id}.json");
	check_key_error("tasks/3/x/" ID ".json", 1, "key \"tasks/3/x/" ID ".json\" is not tasks/{shard}/{id}.json");
	check_key_error("tasks/3/3F2B8C1E-9D4A-4E6B-8F00-1C2D3E4F5A6B.json", 1,
					"key \"tasks/3/3F2B8C1E-9D4A-4E6B-8F00-1C2D3E4F5A6B.json\" is not tasks/{shard}/{id}.json");
	check_key_error("", 1, "key \"\" is not tasks/{shard}/{id}.json");

	/* parse: shard length and shard/id agreement */
	check_key_error("tasks/00/00000000-0000-4000-8000-000000000000.json", 1,
					"shard \"00\" of key \"tasks/00/00000000-0000-4000-8000-000000000000.json\" has 2 characters, but the server's shard_prefix_len is 1");
	check_key_error("tasks/3/" ID ".json", 2,
					"shard \"3\" of key \"tasks/3/" ID ".json\" has 1 character, but the server's shard_prefix_len is 2");
	check_key_error("tasks/a/" ID ".json", 1,
					"shard \"a\" of key \"tasks/a/" ID ".json\" does not match its id, whose shard is \"3\"");
	check_key_error("tasks/3F/" ID ".json", 2,
					"shard \"3F\" of key \"tasks/3F/" ID ".json\" does not match its id, whose shard is \"3f\"");

	/* parse_any: every shard length, which the key has */
	for (int n = 1; n <= OQ_MAX_SHARD_PREFIX_LEN; n++)
	{
		char	   *key = oq_task_key(ID, n);
		int			len = 0;

		memset(id, 0, sizeof(id));
		CHECK(oq_task_key_parse_any(key, id, &len, NULL) && strcmp(id, ID) == 0 && len == n,
			  "parse_any %s: length %d", key, n);
	}
	{
		int			len;

		err = NULL;
		CHECK(!oq_task_key_parse_any("tasks/3f2b8/" ID ".json", id, &len, &err), "5 characters refused");
		CHECK_STR(err, "shard \"3f2b8\" of key \"tasks/3f2b8/" ID ".json\" has 5 characters, more than the 4 a shard can have",
				  "message for a shard of 5");
		err = NULL;
		CHECK(!oq_task_key_parse_any("tasks/3e/" ID ".json", id, &len, &err), "a shard that is not the id's");
		CHECK_STR(err, "shard \"3e\" of key \"tasks/3e/" ID ".json\" does not match its id, whose shard is \"3f\"",
				  "message for a foreign shard");
		CHECK(!oq_task_key_parse_any("tasks/0/x.json", id, &len, NULL), "shape errors as parse");
	}

	/* ready keys: floor(seconds / 60), ten digits */
	CHECK_STR(oq_ready_key(ID, 1, 0), "ready/3/0000000000/" ID, "ready key at the epoch");
	CHECK_STR(oq_ready_key(ID, 1, 59), "ready/3/0000000000/" ID, "59 s is minute 0");
	CHECK_STR(oq_ready_key(ID, 1, 60), "ready/3/0000000001/" ID, "60 s is minute 1");
	/* 2026-01-28T09:15:02Z, the fixtures' created_at */
	CHECK_STR(oq_ready_key(ID, 1, INT64CONST(1769591702)), "ready/3/0029493195/" ID,
			  "ready key of 2026-01-28T09:15:02Z");
	CHECK_STR(oq_ready_key(ID, 2, INT64CONST(1768288440)), "ready/3f/0029471474/" ID,
			  "ready key with prefix 2");
	/* 9999-12-31T23:59:59Z still fits ten digits */
	CHECK_STR(oq_ready_key(ID, 1, INT64CONST(253402300799)), "ready/3/4223371679/" ID,
			  "ready key at the end of year 9999");
	/* pre-1970: floor division and Rust's {:010}, as the reference writes */
	CHECK_STR(oq_ready_key(ID, 1, -1), "ready/3/-000000001/" ID, "ready key at -1 s");
	CHECK_STR(oq_ready_key(ID, 1, -60), "ready/3/-000000001/" ID, "ready key at -60 s");
	CHECK_STR(oq_ready_key(ID, 1, -61), "ready/3/-000000002/" ID, "ready key at -61 s");

	return unit_done();
}
