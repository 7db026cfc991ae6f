/*
 * test_credparse.c - unit tests of the parsers of credential documents:
 * src/credjson.c (the JSON of the EC2 instance metadata service and the
 * container credentials endpoint) and the STS part of src/s3xml.c
 * (AssumeRole and AssumeRoleWithWebIdentity replies, ErrorResponse).
 *
 * The documents hold secrets, so every refusal is also checked for not
 * quoting the document, and every string that would go into an HTTP
 * header (keys, tokens) must be visible ASCII: a CR LF from a hostile
 * endpoint must not add headers to S3 requests.  Everything returned is
 * freed, so that a SANITIZE=1 run proves nothing leaks, jansson's and
 * libxml2's memory included.
 */
#include "postgres_fe.h"

#include "credjson.h"
#include "s3xml.h"
#include "unit.h"

/* A marker put into documents: it must never reach a problem message */
#define SECRET "SECRETDOC"

/* 2017-05-17T15:09:54Z in Unix microseconds */
#define T_2017 INT64CONST(1495033794000000)

static void
free_creds(OqCredentials *c)
{
	if (c->access_key_id)
		pfree(c->access_key_id);
	if (c->secret_access_key)
		pfree(c->secret_access_key);
	if (c->session_token)
		pfree(c->session_token);
	memset(c, 0, sizeof(*c));
}

/* ---------- JSON ---------- */

static bool
json_ok(const char *what, const char *doc, OqCredentials *c)
{
	const char *problem = NULL;
	bool		ok;

	memset(c, 0, sizeof(*c));
	ok = oq_credjson_parse(doc, strlen(doc), c, &problem);
	CHECK(ok, "%s: parses", what);
	if (!ok)
		printf("#   problem: %s\n", problem ? problem : "(null)");
	return ok;
}

static void
json_fails(const char *what, const char *doc, size_t len, const char *want)
{
	OqCredentials c;
	const char *problem = NULL;
	bool		ok;

	memset(&c, 0, sizeof(c));
	ok = oq_credjson_parse(doc, len, &c, &problem);
	CHECK(!ok, "%s: refused", what);
	CHECK_STR(problem, want, "%s: problem", what);
	CHECK(problem == NULL || strstr(problem, SECRET) == NULL,
		  "%s: problem quotes nothing of the document", what);
	CHECK(c.access_key_id == NULL && c.secret_access_key == NULL &&
		  c.session_token == NULL, "%s: nothing filled in", what);
	if (ok)
		free_creds(&c);
}

#define JSON_FAILS(what, doc, want) json_fails(what, doc, strlen(doc), want)

static void
test_json_documents(void)
{
	OqCredentials c;

	/* IMDS, as AWS documents it */
	if (json_ok("IMDS document",
				"{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2017-05-17T14:59:24Z\",\n"
				"  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAIOSFODNN7EXAMPLE\",\n"
				"  \"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n"
				"  \"Token\" : \"AQoDYXdzEJr//+token=\",\n"
				"  \"Expiration\" : \"2017-05-17T15:09:54Z\"\n}", &c))
	{
		CHECK_STR(c.access_key_id, "ASIAIOSFODNN7EXAMPLE", "IMDS: AccessKeyId");
		CHECK_STR(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				  "IMDS: SecretAccessKey");
		CHECK_STR(c.session_token, "AQoDYXdzEJr//+token=", "IMDS: Token");
		CHECK(c.expires_at_us == T_2017, "IMDS: Expiration");
		free_creds(&c);
	}

	/* the container endpoint: no Code, a RoleArn, fractional seconds */
	if (json_ok("container document",
				"{\"RoleArn\":\"arn:aws:iam::123456789012:role/r\",\"AccessKeyId\":\"ASIAX\","
				"\"SecretAccessKey\":\"s3cr3t\",\"Token\":\"tok\","
				"\"Expiration\":\"2017-05-17T15:09:54.500Z\"}", &c))
	{
		CHECK(c.expires_at_us == T_2017 + 500000, "container: fractional Expiration");
		CHECK_STR(c.session_token, "tok", "container: Token");
		free_creds(&c);
	}

	/* no Token: long-term keys from a local endpoint */
	if (json_ok("no Token",
				"{\"AccessKeyId\":\"AKIAX\",\"SecretAccessKey\":\"s\","
				"\"Expiration\":\"2017-05-17T17:09:54+02:00\"}", &c))
	{
		CHECK(c.session_token == NULL, "no Token: session_token NULL");
		CHECK(c.expires_at_us == T_2017, "no Token: offset Expiration");
		free_creds(&c);
	}

	/* null Token is no Token; unknown members are ignored */
	if (json_ok("null Token, extra members",
				"{\"AccessKeyId\":\"AKIAX\",\"SecretAccessKey\":\"s\",\"Token\":null,"
				"\"Expiration\":\"2017-05-17T15:09:54Z\",\"Extra\":{\"a\":[1,2]}}", &c))
	{
		CHECK(c.session_token == NULL, "null Token: session_token NULL");
		free_creds(&c);
	}
}

static void
test_json_refusals(void)
{
	JSON_FAILS("empty", "", "is empty");
	json_fails("NULL", NULL, 0, "is empty");
	JSON_FAILS("not JSON", "{\"AccessKeyId\":\"" SECRET "\" oops", "is not valid JSON");
	JSON_FAILS("trailing garbage",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
			   "\"Expiration\":\"2017-05-17T15:09:54Z\"} " SECRET, "is not valid JSON");
	JSON_FAILS("an array", "[\"" SECRET "\"]", "is not a JSON object");
	JSON_FAILS("a string", "\"" SECRET "\"", "is not valid JSON");
	JSON_FAILS("Code Failure",
			   "{\"Code\":\"Failure\",\"Message\":\"" SECRET "\"}",
			   "has a Code other than \"Success\"");
	JSON_FAILS("Code not a string", "{\"Code\":1}", "has a Code that is not a string");
	JSON_FAILS("no AccessKeyId",
			   "{\"SecretAccessKey\":\"" SECRET "\",\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has a missing or invalid AccessKeyId");
	JSON_FAILS("numeric AccessKeyId",
			   "{\"AccessKeyId\":12,\"SecretAccessKey\":\"s\",\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has a missing or invalid AccessKeyId");
	JSON_FAILS("empty AccessKeyId",
			   "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\",\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has a missing or invalid AccessKeyId");
	JSON_FAILS("no SecretAccessKey",
			   "{\"AccessKeyId\":\"A\",\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has a missing or invalid SecretAccessKey");
	JSON_FAILS("space in SecretAccessKey",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET " x\","
			   "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has a missing or invalid SecretAccessKey");
	/* jansson refuses \u0000 unless asked not to */
	JSON_FAILS("NUL in SecretAccessKey",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\\u0000x\","
			   "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "is not valid JSON");
	JSON_FAILS("CR LF in Token (header injection)",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\\r\\nX-Evil: 1\","
			   "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has an invalid Token");
	JSON_FAILS("non-ASCII Token",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\\u00e9\","
			   "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has an invalid Token");
	JSON_FAILS("numeric Token",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":5,"
			   "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "has an invalid Token");
	JSON_FAILS("no Expiration",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}",
			   "has a missing or invalid Expiration");
	JSON_FAILS("Expiration not RFC 3339",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":\"2017-05-17 15:09:54\"}",
			   "has a missing or invalid Expiration");
	JSON_FAILS("Expiration a number",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":1495033794}",
			   "has a missing or invalid Expiration");
	JSON_FAILS("duplicate SecretAccessKey",
			   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"SecretAccessKey\":\"" SECRET "\","
			   "\"Expiration\":\"2017-05-17T15:09:54Z\"}",
			   "is not valid JSON");

	{
		size_t		len = 70 * 1024;
		char	   *big = palloc(len + 1);

		memset(big, ' ', len);
		big[0] = '{';
		big[len - 1] = '}';
		big[len] = '\0';
		json_fails("larger than 64 KiB", big, len, "is too large");
		pfree(big);
	}
}

/* ---------- STS XML ---------- */

#define STS_NS "https://sts.amazonaws.com/doc/2011-06-15/"
#define XMLDECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define CREDS(body) "<Credentials>" body "</Credentials>"
#define ASSUME(body) XMLDECL "<AssumeRoleResponse xmlns=\"" STS_NS "\"><AssumeRoleResult>" \
	body "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>" \
	"<AssumedRoleId>ARO123EXAMPLE123:s</AssumedRoleId></AssumedRoleUser>" \
	"</AssumeRoleResult><ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7" \
	"</RequestId></ResponseMetadata></AssumeRoleResponse>"
#define GOOD_CREDS CREDS("<SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764=</SessionToken>" \
	"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>" \
	"<Expiration>2017-05-17T15:09:54Z</Expiration><AccessKeyId>ASIAJEXAMPLEXEG2JICEA</AccessKeyId>")

static bool
sts_ok(const char *what, const char *xml, OqCredentials *c)
{
	char	   *errmsg = NULL;
	bool		ok;

	memset(c, 0, sizeof(*c));
	ok = oq_s3xml_parse_sts_credentials(xml, strlen(xml), c, &errmsg);
	CHECK(ok, "%s: parses", what);
	if (!ok)
		printf("#   errmsg: %s\n", errmsg ? errmsg : "(null)");
	if (errmsg)
		pfree(errmsg);
	return ok;
}

static void
sts_fails(const char *what, const char *xml, const char *want)
{
	OqCredentials c;
	char	   *errmsg = NULL;
	bool		ok;

	memset(&c, 0, sizeof(c));
	ok = oq_s3xml_parse_sts_credentials(xml, strlen(xml), &c, &errmsg);
	CHECK(!ok, "%s: refused", what);
	CHECK_STR(errmsg, want, "%s: errmsg", what);
	CHECK(errmsg == NULL || strstr(errmsg, SECRET) == NULL,
		  "%s: errmsg quotes nothing of the document", what);
	CHECK(c.access_key_id == NULL && c.secret_access_key == NULL &&
		  c.session_token == NULL && c.expires_at_us == 0,
		  "%s: nothing filled in", what);
	if (ok)
		free_creds(&c);
	if (errmsg)
		pfree(errmsg);
}

static void
test_sts_replies(void)
{
	OqCredentials c;

	/* AWS's documented AssumeRole reply (fields in any order) */
	if (sts_ok("AssumeRole reply", ASSUME(GOOD_CREDS), &c))
	{
		CHECK_STR(c.access_key_id, "ASIAJEXAMPLEXEG2JICEA", "AssumeRole: AccessKeyId");
		CHECK_STR(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
				  "AssumeRole: SecretAccessKey");
		CHECK_STR(c.session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764=",
				  "AssumeRole: SessionToken");
		CHECK(c.expires_at_us == T_2017, "AssumeRole: Expiration");
		free_creds(&c);
	}

	/* moto's AssumeRoleWithWebIdentity reply: six fraction digits */
	if (sts_ok("AssumeRoleWithWebIdentity reply (moto)",
			   XMLDECL "<AssumeRoleWithWebIdentityResponse xmlns=\"" STS_NS "\">"
			   "<AssumeRoleWithWebIdentityResult>"
			   CREDS("<AccessKeyId>ASIARZPUZDIKCCCVZ3UA</AccessKeyId>"
					 "<SecretAccessKey>HdYXOTlHbdFxCpvCTbAPsC2YlLVDcxysSEOcCfuP</SecretAccessKey>"
					 "<SessionToken>FQoGZXIvYXdzEBYaD5U+/w==</SessionToken>"
					 "<Expiration>2017-05-17T15:09:54.545546Z</Expiration>")
			   "<PackedPolicySize>6</PackedPolicySize></AssumeRoleWithWebIdentityResult>"
			   "<ResponseMetadata><RequestId>14Y5</RequestId></ResponseMetadata>"
			   "</AssumeRoleWithWebIdentityResponse>", &c))
	{
		CHECK_STR(c.access_key_id, "ASIARZPUZDIKCCCVZ3UA", "web identity: AccessKeyId");
		CHECK(c.expires_at_us == T_2017 + 545546, "web identity: Expiration");
		free_creds(&c);
	}

	/* no namespace, whitespace between elements: still fine */
	if (sts_ok("no namespace",
			   "<AssumeRoleResponse>\n <AssumeRoleResult>\n  " GOOD_CREDS
			   "\n </AssumeRoleResult>\n</AssumeRoleResponse>", &c))
		free_creds(&c);

	sts_fails("missing SessionToken",
			  ASSUME(CREDS("<AccessKeyId>A</AccessKeyId><SecretAccessKey>" SECRET "</SecretAccessKey>"
						   "<Expiration>2017-05-17T15:09:54Z</Expiration>")),
			  "STS Credentials have a missing or invalid SessionToken");
	sts_fails("missing AccessKeyId",
			  ASSUME(CREDS("<SecretAccessKey>" SECRET "</SecretAccessKey><SessionToken>t</SessionToken>"
						   "<Expiration>2017-05-17T15:09:54Z</Expiration>")),
			  "STS Credentials have a missing or invalid AccessKeyId");
	sts_fails("empty SecretAccessKey",
			  ASSUME(CREDS("<AccessKeyId>A</AccessKeyId><SecretAccessKey/><SessionToken>" SECRET
						   "</SessionToken><Expiration>2017-05-17T15:09:54Z</Expiration>")),
			  "STS Credentials have a missing or invalid SecretAccessKey");
	sts_fails("CR LF in SessionToken (header injection)",
			  ASSUME(CREDS("<AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
						   "<SessionToken>" SECRET "&#13;&#10;X-Evil: 1</SessionToken>"
						   "<Expiration>2017-05-17T15:09:54Z</Expiration>")),
			  "STS Credentials have a missing or invalid SessionToken");
	sts_fails("bad Expiration",
			  ASSUME(CREDS("<AccessKeyId>A</AccessKeyId><SecretAccessKey>" SECRET "</SecretAccessKey>"
						   "<SessionToken>t</SessionToken><Expiration>tomorrow</Expiration>")),
			  "STS Credentials have a missing or invalid Expiration");
	sts_fails("no Credentials", ASSUME(""), "STS reply has no Credentials");
	sts_fails("result of another action",
			  "<AssumeRoleResponse><GetCallerIdentityResult>" GOOD_CREDS
			  "</GetCallerIdentityResult></AssumeRoleResponse>",
			  "STS reply has no ...Result element");
	sts_fails("an ErrorResponse",
			  XMLDECL "<ErrorResponse xmlns=\"" STS_NS "\"><Error><Type>Sender</Type>"
			  "<Code>AccessDenied</Code><Message>" SECRET "</Message></Error>"
			  "<RequestId>r1</RequestId></ErrorResponse>",
			  "STS reply is an error document");
	sts_fails("an S3 error", "<Error><Code>AccessDenied</Code></Error>",
			  "STS reply is not a ...Response document");
	sts_fails("not XML", "<AssumeRoleResponse>" SECRET, "STS reply is not valid XML");
	sts_fails("empty", "", "STS reply is empty");
	sts_fails("DOCTYPE with an entity",
			  "<!DOCTYPE r [<!ENTITY x \"" SECRET "\">]><AssumeRoleResponse/>",
			  "STS reply has a DOCTYPE, which STS never sends");
}

static void
test_sts_errors(void)
{
	OqS3Error	err;

	memset(&err, 0, sizeof(err));
	{
		const char *doc = XMLDECL "<ErrorResponse xmlns=\"" STS_NS "\"><Error>"
			"<Type>Sender</Type><Code>AccessDenied</Code>"
			"<Message>not authorized to perform: sts:AssumeRole</Message>"
			"</Error><RequestId>r-123</RequestId></ErrorResponse>";

		CHECK(oq_s3xml_parse_error(doc, strlen(doc), &err), "ErrorResponse: parses");
		CHECK_STR(err.code, "AccessDenied", "ErrorResponse: Code");
		CHECK_STR(err.message, "not authorized to perform: sts:AssumeRole",
				  "ErrorResponse: Message");
		CHECK_STR(err.request_id, "r-123", "ErrorResponse: RequestId");
		if (err.code)
			pfree(err.code);
		if (err.message)
			pfree(err.message);
		if (err.request_id)
			pfree(err.request_id);
	}
	{
		/* moto's shape: Errors around the Error, RequestID spelled so */
		const char *doc = XMLDECL "<ErrorResponse><Errors><Error><Code>AccessDenied</Code>"
			"<Message>m</Message><Type>Sender</Type></Error></Errors>"
			"<RequestID>r-9</RequestID></ErrorResponse>";

		memset(&err, 0, sizeof(err));
		CHECK(oq_s3xml_parse_error(doc, strlen(doc), &err), "moto ErrorResponse: parses");
		CHECK_STR(err.code, "AccessDenied", "moto ErrorResponse: Code");
		CHECK_STR(err.message, "m", "moto ErrorResponse: Message");
		CHECK_STR(err.request_id, "r-9", "moto ErrorResponse: RequestID");
		if (err.code)
			pfree(err.code);
		if (err.message)
			pfree(err.message);
		if (err.request_id)
			pfree(err.request_id);
	}
	{
		const char *doc = "<ErrorResponse><RequestId>r</RequestId></ErrorResponse>";

		CHECK(!oq_s3xml_parse_error(doc, strlen(doc), &err),
			  "ErrorResponse without Error: refused");
		CHECK(err.code == NULL && err.request_id == NULL,
			  "ErrorResponse without Error: nothing filled in");
	}
}

int
main(void)
{
	test_json_documents();
	test_json_refusals();
	test_sts_replies();
	test_sts_errors();
	return unit_done();
}
