# test/pure.mk - how to compile the pure modules (the src/*.c files that
# need no backend: signing, XML, tags, timestamps, keys, task JSON,
# credential documents) as frontend code (-DFRONTEND) against
# libpgcommon/libpgport.  Included by test/unit/Makefile and
# test/fuzz/Makefile, from two levels below the root.

PG_CONFIG ?= pg_config
PGINC := $(shell $(PG_CONFIG) --includedir-server)
PGPKGLIB := $(shell $(PG_CONFIG) --pkglibdir)
DEPS := libcurl openssl jansson libxml-2.0

SRC := ../../src
PURE := s3sign s3xml tags rfc3339 keys jsontext taskfields taskjson taskbuild credjson credtypes
PURE_SRCS := $(wildcard $(addprefix $(SRC)/,$(addsuffix .c,$(PURE))))

PURE_CPPFLAGS := -DFRONTEND -I$(SRC) -I$(PGINC) $(shell pkg-config --cflags $(DEPS))
# From 17 on, libpgcommon.a names some encoding functions *_private (libpq
# exports the plain names); the header maps them only when asked to.
PG_MAJOR := $(shell $(PG_CONFIG) --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
PURE_CPPFLAGS += $(if $(shell [ "$(PG_MAJOR)" -ge 17 ] 2>/dev/null && echo y),-DUSE_PRIVATE_ENCODING_FUNCS)
PURE_WARNINGS := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
PURE_LIBS := $(PGPKGLIB)/libpgcommon.a $(PGPKGLIB)/libpgport.a \
	$(shell pkg-config --libs $(DEPS)) -lm
