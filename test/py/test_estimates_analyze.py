#!/usr/bin/env python3
"""test_estimates_analyze.py - a scan's row estimate follows the newer count.

A backend that listed the whole bucket plans with that count; when another
backend ANALYZEs the table afterwards (the bucket has grown meanwhile),
the first backend's plans follow the newer count in pg_class.reltuples;
when the first backend lists the bucket again later, its own listing is
the newer count again.  (sql/plan_estimates.sql covers what one session
can show: the guess, a listing, a listing cut short, ANALYZE alone.)
"""
import json

from oqtest import Checks, Session, create_server, psql, seed_tasks

BUCKET = "oq-estimates-b"
checks = Checks()

seed_tasks(BUCKET, 12, seed=181)
create_server("estimates_b", BUCKET, schema="eb")


def plan_rows(session):
    """The row estimate of a scan of every task, planned in session"""
    out = session.rows("EXPLAIN (FORMAT JSON) SELECT * FROM eb.tasks")
    return json.loads("\n".join(cell for row in out for cell in row))[0]["Plan"]["Plan Rows"]


a = Session()
checks.check(a.value("SELECT count(*) FROM eb.tasks") == "12", "backend A lists 12 tasks")
rows = plan_rows(a)
checks.check(rows == 12, "A plans with its listing: 12 rows (got %s)" % rows)

# the bucket grows, and another backend ANALYZEs
seed_tasks(BUCKET, 8, seed=182)
psql("ANALYZE eb.tasks")
reltuples = psql("SELECT reltuples FROM pg_class WHERE oid = 'eb.tasks'::regclass")[0][0]
checks.check(float(reltuples) == 20, "ANALYZE in another backend counts 20 tasks (got %s)" % reltuples)
rows = plan_rows(a)
checks.check(rows == 20, "A plans with the newer ANALYZE: 20 rows (got %s)" % rows)

# A lists again after more tasks arrived: its listing is the newer count
seed_tasks(BUCKET, 5, seed=183)
checks.check(a.value("SELECT count(*) FROM eb.tasks") == "25", "A lists 25 tasks")
rows = plan_rows(a)
checks.check(rows == 25, "A plans with its newer listing: 25 rows (got %s)" % rows)
a.close()
psql("DROP SERVER estimates_b CASCADE; DROP SCHEMA eb CASCADE")
checks.done()
