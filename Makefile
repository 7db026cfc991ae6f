# oq_fdw: a foreign data wrapper for the oq S3-backed task queue (PGXS)

MODULE_big = oq_fdw
OBJS = oq_fdw.o $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PGFILEDESC = "oq_fdw - foreign data wrapper for the oq task queue"

EXTENSION = oq_fdw
DATA = oq_fdw--1.0.sql

# pg_regress suites, run in this order by test/run ("make installcheck"
# against the throwaway cluster and moto it starts).  Later suites join as
# they land: options s3_objects ...
REGRESS = setup options s3_objects $(REGRESS_SIGV4) $(REGRESS_SHARED) \
	pushdown task_cache submit tag_rules tag_update tag_index $(REGRESS_SHARED_WRITE) \
	modify history tag_edges
# s3_auth needs moto to verify signatures, and these suites the reference
# data of ../shared; test/run says so when it leaves them out
REGRESS_SIGV4 = $(if $(filter 0,$(OQ_TEST_SIGV4_VERIFY)),,s3_auth)
REGRESS_SHARED = $(if $(OQ_SHARED_DIR),read_fixtures read_tables read_invalid)
REGRESS_SHARED_WRITE = $(if $(OQ_SHARED_DIR),write_fixtures)

# Isolation specs (specs/NAME.spec, expected/NAME.out), run by test/run after
# the suites above in a database prepared by sql/setup.sql; picked up as soon
# as the first spec exists.  ":=" so that no spec means ISOLATION is unset.
ISOLATION := $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))

DEPS = libcurl openssl jansson libxml-2.0
PG_CPPFLAGS = -I$(srcdir)/src $(shell pkg-config --cflags $(DEPS))
# PostgreSQL's callback signatures leave parameters unused by design.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = $(shell pkg-config --libs $(DEPS))

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: unit-check test demo
unit-check:
	$(MAKE) -C test/unit check

test:
	test/run

demo:
	test/demo
