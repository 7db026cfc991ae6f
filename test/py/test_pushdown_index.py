#!/usr/bin/env python3
"""Tag predicates answered from the tag index: the same rows as PostgreSQL
would return, found with requests proportional to the matches (2,000 tasks,
20 matching: one LIST, 20 GETs, no listing of tasks/), id lookups with one
GET, joins as per-row index lookups, stale entries rechecked away.

The index entries are written here by test/gen_tasks.py, an independent
implementation of the key encoding, so the C and Python encodings must
agree for the index to find anything."""
from oqtest import Checks, create_server, gen_tasks, psql, s3, with_stats

BUCKET = "oq-index"
c = Checks()

tasks = gen_tasks.generate_tasks(2000, seed=21)
# 20 tasks of a campaign, and values that need encoding (one of 256
# four-byte characters: the hashed segment form)
for t in tasks[100:120]:
    t["tags"]["campaign"] = "spring-sale"
exotic = ["a/b", "a%2Fb", "a b", "Café Ünïcødé / 東京 % & <x>", "", "~x", "..", "\U0001F600" * 256]
for i, v in enumerate(exotic):
    tasks[200 + i]["tags"]["customer"] = v
    tasks[300 + i]["tags"]["customer"] = v

objects = [(gen_tasks.task_key(t), gen_tasks.task_body(t)) for t in tasks]
objects += [(k, b"") for t in tasks for k in gen_tasks.index_keys(t)]
# and the marker: the index is complete, scans may use it
objects.append((gen_tasks.INDEX_MARKER_KEY, gen_tasks.INDEX_MARKER_BODY))
gen_tasks.upload(s3(), BUCKET, objects)
create_server("idx", BUCKET, schema="ix")
create_server("noidx", BUCKET, schema="nx", options="tag_index 'off'")


def ids_where(pred):
    return sorted(t["id"] for t in tasks if pred(t["tags"]))


def q(cond, schema="ix"):
    return sorted(r[0] for r in psql("SELECT id FROM %s.tasks WHERE %s" % (schema, cond)))


def lit(s):
    return "'" + s.replace("'", "''") + "'"


# 20 of 2,000 through the index: one LIST, 20 GETs
rows, st = with_stats("SELECT id FROM ix.tasks WHERE tags->>'campaign' = 'spring-sale'")
c.check(sorted(r[0] for r in rows) == ids_where(lambda g: g.get("campaign") == "spring-sale"),
        "the 20 campaign tasks, exactly")
c.check(st["requests_list"] == 1 and st["requests_get"] == 20,
        "1 LIST and 20 GETs (made %d and %d)" % (st["requests_list"], st["requests_get"]))
c.check(st["tag_index_queries"] == 1 and st["tag_index_stale"] == 0, "one index query, nothing stale")
plan = "\n".join(r[0] for r in psql(
    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
    "SELECT id FROM ix.tasks WHERE tags->>'campaign' = 'spring-sale'"))
c.check("Oq Access: tag index tags/campaign/spring-sale/" in plan and "S3 Requests: list=1 get=20" in plan
        and "Tag Index: hits=20 stale=0" in plan, "EXPLAIN ANALYZE shows the index and the requests")

rows = psql("SELECT oq_stats_reset(); SELECT count(*) FROM ix.tasks WHERE tags->>'campaign' = 'spring-sale';"
            "SELECT tag_key, index_queries FROM oq_tag_stats()")
c.check(rows[-1] == ["campaign", "1"], "oq_tag_stats() counts the index query by tag key: %s" % rows[-1])

# the same through a full listing, for comparison
rows, st = with_stats("SELECT id FROM nx.tasks WHERE tags->>'campaign' = 'spring-sale'")
c.check(len(rows) == 20 and st["requests_get"] == 2000,
        "tag_index off: same 20 rows from 2000 GETs (%d)" % st["requests_get"])

# an id lookup is one GET and no LIST
rows, st = with_stats("SELECT status FROM ix.tasks WHERE id = '%s'" % tasks[7]["id"])
c.check(rows == [[tasks[7]["status"]]] and st["requests_get"] == 1 and st["requests_list"] == 0,
        "id lookup: 1 GET, 0 LIST")

# every operator form through the index gives what PostgreSQL would
forms = [
    ("tags->>'customer' = 'globex'", lambda g: g.get("customer") == "globex"),
    ("tags->>'customer' IN ('umbrella', 'hooli', 'nobody')",
     lambda g: g.get("customer") in ("umbrella", "hooli")),
    ("tags ? 'priority'", lambda g: "priority" in g),
    ("tags ?& ARRAY['priority', 'batch_id']", lambda g: "priority" in g and "batch_id" in g),
    ("tags ?| ARRAY['campaign', 'priority']", lambda g: "campaign" in g or "priority" in g),
    ("tags @> '{\"customer\": \"initech\", \"env\": \"staging\"}'",
     lambda g: g.get("customer") == "initech" and g.get("env") == "staging"),
    ("tags->>'customer' = 'acme-corp' AND tags->>'region' = 'eu-central'",
     lambda g: g.get("customer") == "acme-corp" and g.get("region") == "eu-central"),
    ("tags->>'customer' IS NOT NULL AND tags->>'priority' = 'critical'",
     lambda g: "customer" in g and g.get("priority") == "critical"),
]
for v in exotic:
    forms.append(("tags->>'customer' = %s" % lit(v), lambda g, v=v: g.get("customer") == v))
for cond, pred in forms:
    expect = ids_where(pred)
    got = q(cond)
    c.check(got == expect, "index: %s -> %d rows (want %d)" % (cond[:60], len(got), len(expect)))

# joins: a 3-row table drives 3 index lookups, not a scan of 2,000 tasks
psql("CREATE TABLE customers (name text); INSERT INTO customers VALUES ('globex'), ('initech'), ('a/b');"
     "ANALYZE customers")
join = "SELECT c.name, count(*) FROM ix.tasks t JOIN customers c ON t.tags->>'customer' = c.name GROUP BY 1"
plan = "\n".join(r[0] for r in psql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + join))
c.check("Nested Loop" in plan and "tag index tags/customer/$value/" in plan and "loops=3" in plan,
        "the join runs as a nested loop of index lookups")
rows, st = with_stats(join)
want = {n: len(ids_where(lambda g, n=n: g.get("customer") == n)) for n in ("globex", "initech", "a/b")}
c.check({r[0]: int(r[1]) for r in rows} == want, "join counts %s" % want)
c.check(st["requests_list"] == 3 and st["requests_get"] == sum(want.values()),
        "3 LISTs and one GET per match (%d, %d)" % (st["requests_list"], st["requests_get"]))
psql("CREATE TABLE orders (task_id uuid); INSERT INTO orders VALUES ('%s'), ('%s'); ANALYZE orders"
     % (tasks[1]["id"], tasks[2]["id"]))
rows, st = with_stats("SELECT t.id FROM orders o JOIN ix.tasks t ON t.id = o.task_id")
c.check(len(rows) == 2 and st["requests_get"] == 2 and st["requests_list"] == 0,
        "join on id: 2 GETs, no LIST")

# stale entries: a deleted task and a retagged one are rechecked away
gone, moved = tasks[100], tasks[101]
s3().delete_object(Bucket=BUCKET, Key=gen_tasks.task_key(gone))
moved["tags"]["campaign"] = "autumn-sale"
s3().put_object(Bucket=BUCKET, Key=gen_tasks.task_key(moved), Body=gen_tasks.task_body(moved))
rows, st = with_stats("SELECT id FROM ix.tasks WHERE tags->>'campaign' = 'spring-sale'")
c.check(len(rows) == 18 and gone["id"] not in {r[0] for r in rows}
        and moved["id"] not in {r[0] for r in rows}, "stale entries are not returned (18 rows)")
c.check(st["tag_index_stale"] == 2, "and are counted as stale (%d)" % st["tag_index_stale"])
c.done()
