#!/usr/bin/env python3
"""Generated predicates on tags another producer wrote give PostgreSQL's
exact answer: with the tag index (after oq_rebuild_tag_index) and without.

Tasks are PUT raw, as another producer would, with tag keys oq_fdw's rules
refuse ('', upper case, '/', '%', non-ASCII, over 64 characters, reserved
prefixes), values of every kind (empty, trailing spaces, over-long,
non-ASCII, and JSON that is not a string: numbers such as 1e2 and 5.50,
true, null, objects, arrays).  The same rows go into a local table; each
generated WHERE (->>, ?, ?|, ?&, @>, IN, = ANY, IS [NOT] NULL, NOT,
AND/OR, constants, NULLs, parameters through PREPARE/EXECUTE with custom and
generic plans, id/status/task_type equality) must select the same ids from
the foreign tables as from the local copy.  Zero differences, and no
backend killed by a signal (the server log, OQ_PG_LOG, is checked).

Seeded (OQ_PROPERTY_SEED, default fixed; OQ_PROPERTY_SCALE multiplies the
number of predicates) and bounded: 120 predicates and 54 parameterised
executions on 48 tasks.  The seed is printed on failure."""
import json
import os
import random
import time
import uuid

from oqtest import Checks, create_server, gen_tasks, psql, s3

BUCKET = "oq-property"
SEED = int(os.environ.get("OQ_PROPERTY_SEED", "20261206"))
NTASKS = 48
SCALE = max(1, int(os.environ.get("OQ_PROPERTY_SCALE", "1")))
NPREDICATES = 120 * SCALE
NPREPARED = 6
c = Checks()
rng = random.Random(SEED)

KEYS = ["customer", "Customer", "", "a/b", "%", "é", "oq_sys", "_int", "k" * 65,
        "n", "v", "batch-1", "x y"]
# string values, and the text ->> gives for the non-string ones below
STRINGS = ["acme", "ACME", "", "acme ", " acme", "a/b", "100%", "Café 東京", "5",
           "100", "5.50", "true", "false", "null", "{\"x\": 1}", "[1, \"two\"]",
           "x" * 300, "~x", ".."]
# JSON text of values that are not strings, as another producer wrote them
RAW = ["5", "1e2", "5.50", "-0", "true", "false", "null", "{\"x\": 1}", "[1, \"two\"]",
       "{}", "[]", "123456789012345678901234567890"]


def js(s):
    return json.dumps(s, ensure_ascii=False)


def lit(s):
    return "NULL::text" if s is None else "'" + s.replace("'", "''") + "'"


def raw_tags():
    """A tags object's JSON text: a few keys, string or other values."""
    parts = []
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(KEYS)
        value = rng.choice(RAW) if rng.random() < 0.3 else js(rng.choice(STRINGS))
        parts.append("%s: %s" % (js(key), value))
    return "{" + ", ".join(parts) + "}"


tasks = gen_tasks.generate_tasks(NTASKS, seed=SEED % 100000)
objects = []
local_rows = []
for i, t in enumerate(tasks):
    t.pop("tags", None)
    body = json.dumps(t, separators=(",", ":"), ensure_ascii=False)
    tags = None if i % 16 == 0 else raw_tags()   # some tasks have no tags member
    if tags is not None:
        body = body[:-1] + ",\"tags\":" + tags + "}"
    objects.append((gen_tasks.task_key(t), body.encode("utf-8")))
    local_rows.append((t["id"], t["status"], t["task_type"], tags or "{}"))
# a rerun (another seed) starts from an empty bucket
client = s3()
for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
    for o in page.get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=o["Key"])
gen_tasks.upload(client, BUCKET, objects)

create_server("pp", BUCKET, schema="pp")
create_server("ppn", BUCKET, schema="ppn", options="tag_index 'off'")
psql("SELECT * FROM oq_rebuild_tag_index('pp')")
psql("CREATE TABLE pp_local (id uuid, status text, task_type text, tags jsonb);"
     "INSERT INTO pp_local VALUES %s" % ", ".join(
         "('%s', %s, %s, %s::jsonb)" % (i, lit(s), lit(tt), lit(g)) for i, s, tt, g in local_rows))

# the rows read are the rows written
diff = psql("SELECT count(*) FROM (SELECT id, status, task_type, tags FROM ppn.tasks "
            "EXCEPT ALL SELECT * FROM pp_local) a")
c.check(diff == [["0"]], "every task reads back as written (tags as jsonb)")
c.check(psql("SELECT count(*) FROM pp.tasks") == [[str(NTASKS)]], "%d tasks" % NTASKS)

ids = [t["id"] for t in tasks]


def key():
    return rng.choice(KEYS)


def val():
    r = rng.random()
    return None if r < 0.05 else rng.choice(STRINGS)


def jsonb_template():
    parts = []
    for _ in range(rng.randint(0, 2)):
        v = rng.choice(RAW) if rng.random() < 0.35 else js(rng.choice(STRINGS))
        parts.append("%s: %s" % (js(key()), v))
    if rng.random() < 0.05:
        return "'[]'"
    return lit("{" + ", ".join(parts) + "}")


def text_array(gen, n):
    return "ARRAY[%s]::text[]" % ", ".join(lit(gen()) for _ in range(n))


def atom():
    k = lit(key())
    r = rng.randrange(16)
    if r == 0:
        return "tags->>%s = %s" % (k, lit(val()))
    if r == 1:
        return "%s = tags->>%s" % (lit(val()), k)
    if r == 2:
        return "tags->>%s IN (%s)" % (k, ", ".join(lit(val()) for _ in range(rng.randint(1, 3))))
    if r == 3:
        return "tags->>%s = ANY (%s)" % (k, text_array(val, rng.randint(0, 3)))
    if r == 4:
        return "tags ? %s" % k
    if r == 5:
        return "tags ?| %s" % text_array(lambda: None if rng.random() < 0.1 else key(), rng.randint(0, 3))
    if r == 6:
        return "tags ?& %s" % text_array(lambda: None if rng.random() < 0.1 else key(), rng.randint(0, 3))
    if r == 7:
        return "tags @> %s" % jsonb_template()
    if r == 8:
        return "tags->>%s IS NULL" % k
    if r == 9:
        return "tags->>%s IS NOT NULL" % k
    if r == 10:
        return "status = %s" % lit(rng.choice(["pending", "running", "completed", "failed", ""]))
    if r == 11:
        return "task_type = %s" % lit(rng.choice(["process_order", "send_email", "resize_image", "x"]))
    if r == 12:
        return "id = '%s'" % (rng.choice(ids) if rng.random() < 0.8 else uuid.UUID(int=rng.getrandbits(128)))
    if r == 13:
        return "id IN (%s)" % ", ".join("'%s'::uuid" % rng.choice(ids) for _ in range(rng.randint(1, 3)))
    if r == 14:
        return "tags->>%s = NULL::text" % k
    return "tags->>%s = %s" % (k, lit(rng.choice(STRINGS)))


def predicate(depth=0):
    r = rng.random()
    if depth < 2 and r < 0.25:
        return "(%s AND %s)" % (predicate(depth + 1), predicate(depth + 1))
    if depth < 2 and r < 0.4:
        return "(%s OR %s)" % (predicate(depth + 1), predicate(depth + 1))
    if depth < 2 and r < 0.47:
        return "NOT (%s)" % predicate(depth + 1)
    return atom()


def ids_of(table, where):
    return "(SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM %s WHERE %s)" % (table, where)


started = time.monotonic()
preds = [predicate() for _ in range(NPREDICATES)]
script = []
for i, p in enumerate(preds):
    script.append("SELECT %d, %s, %s, %s;" % (i, ids_of("pp.tasks", p), ids_of("ppn.tasks", p),
                                              ids_of("pp_local", p)))
rows = psql("\n".join(script), timeout=600)
bad = [(preds[int(r[0])], r[1:]) for r in rows if not (r[1] == r[3] and r[2] == r[3])]
c.check(len(rows) == NPREDICATES, "%d predicates evaluated" % len(rows))
for p, r in bad[:10]:
    print("  differs: %s\n    index %s\n    no index %s\n    local %s" % (p, r[0], r[1], r[2]))
c.check(not bad, "constant predicates: %d of %d differ (seed %d)" % (len(bad), len(rows), SEED))

# parameters: one prepared statement per form, executed with '' and NULL
# among other values, under custom and then generic plans
forms = [
    ("text, text", "tags->>$1 = $2", lambda: (key(), val())),
    ("text", "tags->>'customer' = $1", lambda: (val(),)),
    ("text", "tags->>'n' = $1", lambda: (val(),)),
    ("text", "tags ? $1", lambda: (key(),)),
    ("text[]", "tags ?| $1", lambda: ([key(), key()],)),
    ("text[]", "tags ?& $1", lambda: ([key()],)),
    ("jsonb", "tags @> $1", lambda: (None,)),
    ("text[]", "tags->>'customer' = ANY ($1)", lambda: ([val(), val()],)),
    ("text, text", "tags->>$1 IS NOT NULL AND status = $2", lambda: (key(), "pending")),
]


def param_sql(typ, v):
    if typ == "jsonb":
        return jsonb_template() + "::jsonb"
    if typ == "text[]":
        return "ARRAY[%s]::text[]" % ", ".join(lit(x) for x in v)
    return lit(v)


script = []
checks = []
for f, (types, where, gen) in enumerate(forms):
    for name, table in (("i", "pp.tasks"), ("n", "ppn.tasks"), ("l", "pp_local")):
        script.append("PREPARE q%d%s(%s) AS SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') "
                      "FROM %s WHERE %s;" % (f, name, types, table, where))
    for mode in ("force_custom_plan", "force_generic_plan"):
        script.append("SET plan_cache_mode = %s;" % mode)
        for _ in range(NPREPARED // 2):
            typs = [t.strip() for t in types.split(",")]
            args = ", ".join(param_sql(t, v) for t, v in zip(typs, gen()))
            if rng.random() < 0.1:
                args = ", ".join(("NULL::%s" % t) for t in typs)
            if types == "text, text" and rng.random() < 0.3:
                args = "'', %s" % lit(val())
            checks.append("%s with (%s), %s" % (where, args, mode))
            for name in ("i", "n", "l"):
                script.append("EXECUTE q%d%s(%s);" % (f, name, args))
# psql() drops empty lines (an empty result): mark each result
results = psql("\n".join(script).replace("SELECT coalesce(", "SELECT 'r:' || coalesce("), timeout=600)
flat = [r[0][2:] for r in results if r and r[0].startswith("r:")]
bad = []
for i, what in enumerate(checks):
    got_i, got_n, want = flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]
    if not (got_i == want and got_n == want):
        bad.append((what, got_i, got_n, want))
c.check(len(flat) == 3 * len(checks), "%d parameterised executions" % len(checks))
for b in bad[:10]:
    print("  differs: %s\n    index %s\n    no index %s\n    local %s" % b)
c.check(not bad, "parameterised predicates: %d of %d differ (seed %d)" % (len(bad), len(checks), SEED))

print("%d predicates and %d executions, each on 2 foreign tables and the local copy, in %.0f s"
      % (NPREDICATES, len(checks), time.monotonic() - started))

log = os.environ.get("OQ_PG_LOG")
c.check(log is not None and os.path.exists(log), "the server log is there to check")
if log and os.path.exists(log):
    with open(log, encoding="utf-8", errors="replace") as f:
        crashed = [line.strip() for line in f if "terminated by signal" in line]
    c.check(not crashed, "no backend was killed by a signal%s" % (": " + crashed[0] if crashed else ""))
if c.failures:
    print("OQ_PROPERTY_SEED=%d reproduces this run" % SEED)
c.done()
