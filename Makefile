# PGXS build of the pg_privacy extension (C++20), for PostgreSQL 15.
# `make && make install` builds and installs; `make installcheck` runs the pg_regress suite
# against a running server; `make test` / `make demo` run the project's scripts.

EXTENSION   = pg_privacy
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" control/$(EXTENSION).control)
MODULE_big  = pg_privacy
CORE_SRCS   = $(sort $(wildcard src/core/*.cpp src/core/*/*.cpp))
PG_SRCS     = $(sort $(wildcard src/pg/*.cpp))
OBJS        = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
# Released versions' scripts are frozen in control/. The version under development
# (default_version) is assembled from src/sql/<version>/*.sql: its full install script is the
# previous full script plus the fragments, and its update script is the fragments alone, so the
# two cannot drift apart.
PREV_VERSION = $(shell cat src/sql/$(EXTVERSION)/PREVIOUS 2>/dev/null)
DEV_FRAGMENTS = $(sort $(wildcard src/sql/$(EXTVERSION)/*.sql))
DATA_built  = $(if $(PREV_VERSION),control/$(EXTENSION)--$(EXTVERSION).sql control/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql)
DATA        = $(filter-out $(DATA_built),$(sort $(wildcard control/$(EXTENSION)--*.sql)))
REGRESS     = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)
EXTRA_CLEAN = $(EXTENSION).control results regression.diffs regression.out

PG_CONFIG  ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
RE2_VERSION := $(shell dpkg-query -W -f='$${Version}' libre2-dev 2>/dev/null || echo unknown)

# Debian's PGXS was configured --with-llvm: without this it would emit bitcode with clang.
override with_llvm = no

PG_CPPFLAGS = -Isrc -isystem $(shell $(PG_CONFIG) --includedir-server) \
              -DPGP_EXTVERSION='"$(EXTVERSION)"' -DPGP_RE2_VERSION='"$(RE2_VERSION)"'
PG_CXXFLAGS = -std=c++20 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden \
              -Wall -Wextra -Wno-register -Wno-missing-field-initializers $(PGP_WERROR)
SHLIB_LINK  = -lre2 -lcrypto -lcurl -lstdc++

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Postgres' CFLAGS carry C-only options that g++ warns about; keep C++ builds quiet and clean.
override CXXFLAGS := $(filter-out -Wmissing-prototypes -Wdeclaration-after-statement -Wno-format-truncation -Wno-stringop-truncation -Wimplicit-fallthrough=3 -Wcast-function-type,$(CXXFLAGS))

# PGXS installs $(EXTENSION).control from the top directory: generate it from control/.
$(EXTENSION).control: control/$(EXTENSION).control
	cp $< $@

ifneq ($(PREV_VERSION),)
control/$(EXTENSION)--$(EXTVERSION).sql: control/$(EXTENSION)--$(PREV_VERSION).sql $(DEV_FRAGMENTS) src/sql/$(EXTVERSION)/PREVIOUS
	{ echo "-- pg_privacy $(EXTVERSION) (generated from src/sql/$(EXTVERSION)/ by make: do not edit)"; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION pg_privacy" to load this file. \quit'; \
	  sed '1,2d' $<; for f in $(DEV_FRAGMENTS); do echo; cat $$f; done; } > $@
control/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql: $(DEV_FRAGMENTS) src/sql/$(EXTVERSION)/PREVIOUS
	{ echo "-- pg_privacy $(PREV_VERSION) -> $(EXTVERSION) (generated from src/sql/$(EXTVERSION)/ by make: do not edit)"; \
	  printf '%s\n' '\echo Use "ALTER EXTENSION pg_privacy UPDATE TO '"'"'$(EXTVERSION)'"'"'" to load this file. \quit'; \
	  for f in $(DEV_FRAGMENTS); do echo; cat $$f; done; } > $@
endif

$(OBJS): $(wildcard src/core/*.hpp src/core/*/*.hpp src/pg/*.hpp) control/$(EXTENSION).control

.PHONY: test demo
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
