/*-------------------------------------------------------------------------
 *
 * s3load.c
 *		A small, fast S3 client for the benchmark: many GETs or PUTs in
 *		parallel over kept-alive connections.
 *
 * bench/run --scale uses it twice: to seed a bucket with 100,000 task
 * objects in a few minutes (boto3 is CPU-bound at a few hundred PUTs/s
 * here), and to measure the server's GET ceiling with a client that is
 * not oq_fdw and is not the bottleneck: C, libcurl multi, no listing, no
 * parsing, the body thrown away.  Requests are signed with the
 * extension's own SigV4 signer (src/s3sign.c, built as frontend code as
 * for the unit tests), so the ceiling pays what any signed client pays.
 *
 *	 s3load get KEYFILE    one key a line: GET each
 *	 s3load put DATAFILE   "key<TAB>body" a line: PUT each (bodies hold no
 *						   newline: compact JSON)
 *
 * Options: --endpoint URL (http only), --bucket B, --region R,
 * --parallel P (connections, default 32).  The key pair is read from
 * OQ_TEST_ACCESS_KEY_ID and OQ_TEST_SECRET_ACCESS_KEY, never from the
 * command line.  Prints one JSON object: requests, answers by status,
 * bytes, retries, wall seconds, and this process's CPU seconds.  Exits 1
 * unless every request got a 2xx (after up to 5 tries each, for 5xx and
 * transport errors).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

#include "s3sign.h"

#define MAX_TRIES 5

typedef struct Item
{
	char	   *key;
	char	   *body;			/* PUT only */
	size_t		body_len;
} Item;

typedef struct Slot
{
	CURL	   *easy;
	struct curl_slist *headers;
	int			item;			/* index in items, -1 when idle */
	int			tries;
	size_t		bytes;
} Slot;

static const char *endpoint;
static const char *host_header;	/* host[:port] of the endpoint */
static const char *bucket;
static const char *region = "us-east-1";
static const char *access_key;
static const char *secret_key;
static bool put_mode;
static OqSigV4KeyCache key_cache;

static Item *items;
static int	nitems;

static void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "s3load: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(2);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Read the whole input: one item a line */
static void
read_items(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	int			alloc = 1024;

	if (f == NULL)
		die("could not open", path);
	items = pg_malloc(sizeof(Item) * alloc);
	while ((len = getline(&line, &cap, f)) > 0)
	{
		Item	   *it;
		char	   *tab;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (nitems == alloc)
		{
			alloc *= 2;
			items = pg_realloc(items, sizeof(Item) * alloc);
		}
		it = &items[nitems++];
		tab = strchr(line, '\t');
		if (put_mode)
		{
			if (tab == NULL)
				die("a line without a tab in", path);
			*tab = '\0';
			it->body = pg_strdup(tab + 1);
			it->body_len = strlen(it->body);
		}
		else
		{
			it->body = NULL;
			it->body_len = 0;
		}
		it->key = pg_strdup(line);
	}
	free(line);
	fclose(f);
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Slot	   *slot = userdata;

	slot->bytes += size * nmemb;
	return size * nmemb;
}

/* Set up slot's handle for its item: URL, signed headers, body */
static void
prepare(Slot *slot)
{
	Item	   *it = &items[slot->item];
	StringInfoData path;
	StringInfoData url;
	char		amz_date[17];
	char		payload[65];
	char		line[1024];
	OqHeader	h[3];
	OqSigV4Input in = {0};
	OqSigV4Result res;

	initStringInfo(&path);
	appendStringInfoChar(&path, '/');
	oq_uri_encode(&path, bucket, strlen(bucket), false);
	appendStringInfoChar(&path, '/');
	oq_uri_encode(&path, it->key, strlen(it->key), true);
	initStringInfo(&url);
	appendStringInfo(&url, "%s%s", endpoint, path.data);

	oq_format_amz_date((int64) time(NULL), amz_date);
	if (put_mode)
		oq_sha256_hex(it->body, it->body_len, payload);
	else
		strlcpy(payload, OQ_EMPTY_SHA256_HEX, sizeof(payload));
	h[0] = (OqHeader) {"host", host_header};
	h[1] = (OqHeader) {"x-amz-content-sha256", payload};
	h[2] = (OqHeader) {"x-amz-date", amz_date};
	in.method = put_mode ? "PUT" : "GET";
	in.canonical_uri = path.data;
	in.headers = h;
	in.nheaders = 3;
	in.payload_hash = payload;
	in.amz_date = amz_date;
	in.region = region;
	in.service = "s3";
	in.access_key_id = access_key;
	in.secret_access_key = secret_key;
	in.key_cache = &key_cache;
	oq_sigv4_sign(&in, &res);

	if (slot->headers)
		curl_slist_free_all(slot->headers);
	slot->headers = NULL;
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", payload);
	slot->headers = curl_slist_append(slot->headers, line);
	snprintf(line, sizeof(line), "x-amz-date: %s", amz_date);
	slot->headers = curl_slist_append(slot->headers, line);
	snprintf(line, sizeof(line), "Authorization: %s", res.authorization);
	slot->headers = curl_slist_append(slot->headers, line);
	if (put_mode)
	{
		slot->headers = curl_slist_append(slot->headers, "Content-Type: application/json");
		slot->headers = curl_slist_append(slot->headers, "Expect:");
		curl_easy_setopt(slot->easy, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) it->body_len);
		curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDS, it->body);
	}
	curl_easy_setopt(slot->easy, CURLOPT_URL, url.data);
	curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, slot->headers);
	slot->bytes = 0;

	pfree(res.canonical_request);
	pfree(res.string_to_sign);
	pfree(res.signed_headers);
	pfree(res.signature);
	pfree(res.authorization);
	pfree(path.data);
	pfree(url.data);
}

int
main(int argc, char **argv)
{
	const char *mode = NULL;
	const char *input = NULL;
	int			parallel = 32;
	CURLM	   *multi;
	Slot	   *slots;
	int			next = 0;
	int			done = 0;
	int			running = 0;
	long		by_status[6] = {0};
	long		retries = 0;
	long		failed = 0;
	long		transport = 0;
	long long	bytes = 0;
	double		t0,
				c0,
				wall;
	int			i;
	char	   *p;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];

		if (i + 1 < argc && strcmp(a, "--endpoint") == 0)
			endpoint = argv[++i];
		else if (i + 1 < argc && strcmp(a, "--bucket") == 0)
			bucket = argv[++i];
		else if (i + 1 < argc && strcmp(a, "--region") == 0)
			region = argv[++i];
		else if (i + 1 < argc && strcmp(a, "--parallel") == 0)
			parallel = atoi(argv[++i]);
		else if (mode == NULL)
			mode = a;
		else if (input == NULL)
			input = a;
		else
			die("unexpected argument", a);
	}
	if (mode == NULL || input == NULL || endpoint == NULL || bucket == NULL)
		die("usage: s3load get|put FILE --endpoint URL --bucket B [--region R] [--parallel P]", NULL);
	if (strcmp(mode, "put") == 0)
		put_mode = true;
	else if (strcmp(mode, "get") != 0)
		die("mode must be get or put, not", mode);
	if (parallel < 1 || parallel > 1024)
		die("--parallel must be between 1 and 1024", NULL);
	if (strncmp(endpoint, "http://", 7) != 0)
		die("the endpoint must be http://host:port", endpoint);
	p = pg_strdup(endpoint + 7);
	p[strcspn(p, "/")] = '\0';
	host_header = p;
	access_key = getenv("OQ_TEST_ACCESS_KEY_ID");
	secret_key = getenv("OQ_TEST_SECRET_ACCESS_KEY");
	if (access_key == NULL || secret_key == NULL)
		die("OQ_TEST_ACCESS_KEY_ID and OQ_TEST_SECRET_ACCESS_KEY must be set", NULL);
	read_items(input);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) parallel);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) parallel);
	slots = pg_malloc0(sizeof(Slot) * parallel);
	for (i = 0; i < parallel; i++)
	{
		slots[i].easy = curl_easy_init();
		slots[i].item = -1;
		curl_easy_setopt(slots[i].easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(slots[i].easy, CURLOPT_WRITEDATA, &slots[i]);
		curl_easy_setopt(slots[i].easy, CURLOPT_PRIVATE, &slots[i]);
		curl_easy_setopt(slots[i].easy, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(slots[i].easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(slots[i].easy, CURLOPT_TIMEOUT, 60L);
	}

	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < parallel && next < nitems; i++)
	{
		slots[i].item = next++;
		slots[i].tries = 1;
		prepare(&slots[i]);
		curl_multi_add_handle(multi, slots[i].easy);
	}
	while (done < nitems)
	{
		CURLMsg    *msg;
		int			left;

		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
		{
			Slot	   *slot;
			long		status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			curl_multi_remove_handle(multi, slot->easy);
			if ((msg->data.result != CURLE_OK || status >= 500) && slot->tries < MAX_TRIES)
			{
				/* transport error or 5xx: again, on the same slot */
				retries++;
				slot->tries++;
				prepare(slot);
				curl_multi_add_handle(multi, slot->easy);
				continue;
			}
			if (msg->data.result != CURLE_OK)
			{
				transport++;
				if (failed++ < 3)
					fprintf(stderr, "s3load: %s: %s\n", items[slot->item].key,
							curl_easy_strerror(msg->data.result));
			}
			else
			{
				by_status[Min(Max(status / 100, 0), 5)]++;
				if (status / 100 != 2 && failed++ < 3)
					fprintf(stderr, "s3load: %s: HTTP %ld\n", items[slot->item].key, status);
			}
			bytes += slot->bytes;
			done++;
			if (next < nitems)
			{
				slot->item = next++;
				slot->tries = 1;
				prepare(slot);
				curl_multi_add_handle(multi, slot->easy);
			}
			else
				slot->item = -1;
		}
		if (done < nitems)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	wall = now_s() - t0;

	printf("{\"mode\": \"%s\", \"requests\": %d, \"ok\": %ld, \"status_3xx\": %ld, "
		   "\"status_4xx\": %ld, \"status_5xx\": %ld, \"transport_errors\": %ld, "
		   "\"retries\": %ld, \"bytes\": %lld, \"parallel\": %d, "
		   "\"wall_s\": %.6f, \"cpu_s\": %.6f}\n",
		   mode, nitems, by_status[2], by_status[3], by_status[4], by_status[5],
		   transport, retries, bytes, parallel, wall, cpu_s() - c0);
	for (i = 0; i < parallel; i++)
	{
		curl_slist_free_all(slots[i].headers);
		curl_easy_cleanup(slots[i].easy);
	}
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	pg_free(slots);
	for (i = 0; i < nitems; i++)
	{
		pg_free(items[i].key);
		if (items[i].body)
			pg_free(items[i].body);
	}
	pg_free(items);
	pg_free(p);
	return by_status[2] == nitems ? 0 : 1;
}
