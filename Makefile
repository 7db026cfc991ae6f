# oq_fdw: a foreign data wrapper for the oq S3-backed task queue (PGXS)

MODULE_big = oq_fdw
OBJS = oq_fdw.o $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PGFILEDESC = "oq_fdw - foreign data wrapper for the oq task queue"

EXTENSION = oq_fdw
DATA = oq_fdw--1.0.sql

# pg_regress suites, run in this order by test/run ("make installcheck"
# against the throwaway cluster and moto it starts).
REGRESS = setup options s3_objects s3_auth read_fixtures read_tables read_invalid \
	pushdown task_cache submit tag_rules tag_update tag_index tag_index_marker write_fixtures \
	modify update_returning explain_analyze plan_estimates history security read_robust \
	write_limits write_routes tag_edges

# The suites need the cluster, the S3 server and the environment test/run
# provides: without them, stop before pg_regress fails deep inside setup.
ifneq ($(filter installcheck,$(MAKECMDGOALS)),)
ifeq ($(and $(OQ_TEST_ENDPOINT),$(OQ_TEST_FIXTURES)),)
$(error the regression suites need the PostgreSQL cluster and the S3 server that test/run starts; run "test/run" (all tests) or "test/run --only SUITE..." (see test/README.md))
endif
endif

# What "make clean" removes beyond PGXS's own (objects, bitcode, results/,
# regression.*): objects of modules since renamed, the RGW stage's output,
# the unit test and fuzz builds, benchmark results, python's caches.  A
# clean tree is what git tracks.
EXTRA_CLEAN = src/*.o src/*.bc output_rgw/ test/unit/build/ test/fuzz/build/ bench/results/ \
	test/__pycache__/ test/py/__pycache__/ test/py/lib/__pycache__/ bench/__pycache__/

DEPS = libcurl openssl jansson libxml-2.0
PG_CPPFLAGS = -I$(srcdir)/src $(shell pkg-config --cflags $(DEPS))
# PostgreSQL's callback signatures leave parameters unused by design.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = $(shell pkg-config --libs $(DEPS))

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: unit-check check-layers test demo
unit-check:
	$(MAKE) -C test/unit check

# The modules' includes point one way (test/unit/layers.py; unit-check runs it)
check-layers:
	python3 test/unit/layers.py .

test:
	test/run

demo:
	test/demo
