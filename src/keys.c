/*-------------------------------------------------------------------------
 *
 * keys.c
 *		Object keys of the oq bucket layout: the task object
 *		tasks/{shard}/{id}.json and its ready index entry
 *		ready/{shard}/{minute}/{id}.
 *
 * The shard is a prefix of the id, and its length (shard_prefix_len) is a
 * server option, not something stored in the bucket; every key this
 * extension writes or trusts must agree with it, or workers (which only look
 * under their own shards) would never see the task.  So a key read from a
 * listing is checked here before its id is believed: a stray object, or a
 * bucket written with another prefix length, is reported, not misread.
 *
 * The ready key mirrors the reference producer: minute bucket =
 * floor(unix_seconds / 60) (Rust's div_euclid), printed zero-padded to ten
 * characters with Rust's "{:010}", which matches C's "%010lld" also for the
 * negative buckets of pre-1970 times (those cannot occur for real tasks).
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "keys.h"

#define TASK_KEY_SUFFIX ".json"
#define TASK_KEY_SUFFIX_LEN 5

/* 8-4-4-4-12 hex digits; uppercase ones only when allowed */
static bool
uuid_syntax_ok(const char *s, size_t len, bool allow_upper)
{
	if (len != OQ_UUID_LEN)
		return false;
	for (int i = 0; i < OQ_UUID_LEN; i++)
	{
		char		c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (c != '-')
				return false;
		}
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
				   (allow_upper && c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

bool
oq_uuid_is_canonical(const char *s, size_t len)
{
	return uuid_syntax_ok(s, len, false);
}

bool
oq_uuid_is_valid(const char *s, size_t len)
{
	return uuid_syntax_ok(s, len, true);
}

void
oq_task_shard(const char *id, int prefix_len, char *shard)
{
	int			n = 0;

	/* the server option is validated to 1..4; clamp like the reference */
	Assert(prefix_len >= 1 && prefix_len <= OQ_MAX_SHARD_PREFIX_LEN);
	prefix_len = Max(1, Min(prefix_len, OQ_MAX_SHARD_PREFIX_LEN));

	for (const char *p = id; *p && n < prefix_len; p++)
	{
		if (*p != '-')
			shard[n++] = *p;
	}
	shard[n] = '\0';
}

char *
oq_task_key(const char *id, int prefix_len)
{
	char		shard[OQ_MAX_SHARD_PREFIX_LEN + 1];

	oq_task_shard(id, prefix_len, shard);
	return psprintf(OQ_TASKS_PREFIX "%s/%s" TASK_KEY_SUFFIX, shard, id);
}

bool
oq_task_key_parse(const char *key, int prefix_len, char *id, char **errmsg)
{
	int			shard_len;

	if (!oq_task_key_parse_any(key, id, &shard_len, errmsg))
		return false;
	if (shard_len != prefix_len)
	{
		if (errmsg)
			*errmsg = psprintf(ngettext("shard \"%.*s\" of key \"%s\" has %d character, but the server's shard_prefix_len is %d",
										"shard \"%.*s\" of key \"%s\" has %d characters, but the server's shard_prefix_len is %d",
										shard_len),
							   shard_len, key + strlen(OQ_TASKS_PREFIX), key,
							   shard_len, prefix_len);
		return false;
	}
	return true;
}

bool
oq_task_key_parse_any(const char *key, char *id, int *shard_len_out,
					  char **errmsg)
{
	const char *shard;
	const char *slash;
	const char *rest;
	size_t		shard_len;
	char		expected[OQ_MAX_SHARD_PREFIX_LEN + 1];

	if (strncmp(key, OQ_TASKS_PREFIX, strlen(OQ_TASKS_PREFIX)) != 0)
		goto not_task_key;
	shard = key + strlen(OQ_TASKS_PREFIX);
	slash = strchr(shard, '/');
	if (slash == NULL || slash == shard)
		goto not_task_key;
	rest = slash + 1;
	if (strlen(rest) != OQ_UUID_LEN + TASK_KEY_SUFFIX_LEN ||
		memcmp(rest + OQ_UUID_LEN, TASK_KEY_SUFFIX, TASK_KEY_SUFFIX_LEN) != 0 ||
		!oq_uuid_is_canonical(rest, OQ_UUID_LEN))
		goto not_task_key;

	shard_len = slash - shard;
	if (shard_len > OQ_MAX_SHARD_PREFIX_LEN)
	{
		if (errmsg)
			*errmsg = psprintf(_("shard \"%.*s\" of key \"%s\" has %d characters, more than the %d a shard can have"),
							   (int) shard_len, shard, key, (int) shard_len,
							   OQ_MAX_SHARD_PREFIX_LEN);
		return false;
	}
	oq_task_shard(rest, (int) shard_len, expected);
	if (memcmp(shard, expected, shard_len) != 0)
	{
		if (errmsg)
			*errmsg = psprintf(_("shard \"%.*s\" of key \"%s\" does not match its id, whose shard is \"%s\""),
							   (int) shard_len, shard, key, expected);
		return false;
	}

	memcpy(id, rest, OQ_UUID_LEN);
	id[OQ_UUID_LEN] = '\0';
	*shard_len_out = (int) shard_len;
	return true;

not_task_key:
	if (errmsg)
		*errmsg = psprintf(_("key \"%s\" is not tasks/{shard}/{id}.json"), key);
	return false;
}

char *
oq_ready_key(const char *id, int prefix_len, int64 unix_seconds)
{
	char		shard[OQ_MAX_SHARD_PREFIX_LEN + 1];
	int64		minute;

	/* floor division, as the reference's div_euclid(60) */
	minute = unix_seconds / 60;
	if (unix_seconds % 60 < 0)
		minute--;

	oq_task_shard(id, prefix_len, shard);
	return psprintf(OQ_READY_PREFIX "%s/%010lld/%s", shard,
					(long long) minute, id);
}
