// The one way C++ code includes Postgres headers: inside extern "C", with the few headers the
// glue needs. src/core never includes this file.
#pragma once

// PostgreSQL 15 defines PGDLLEXPORT as empty outside Windows; the module is built with
// -fvisibility=hidden, so this is what exports _PG_init and the PG_FUNCTION_INFO_V1 symbols.
#ifndef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))
#endif

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

// Every ereport of pg_privacy carries the message domain "pg_privacy" (elog.h defines TEXTDOMAIN
// as NULL, the backend's domain; modules override it after including it): the log hook tells
// pg_privacy's messages, which never carry values, from PostgreSQL's (secret_log.cpp).
#undef TEXTDOMAIN
#define TEXTDOMAIN "pg_privacy"

// Declares a SQL-callable C function, exported (PG 15's PG_FUNCTION_INFO_V1 exports only the
// info record, not the function, and the module is built with -fvisibility=hidden).
#define PGP_FUNCTION(name)                   \
  extern "C" {                               \
  PGDLLEXPORT Datum name(PG_FUNCTION_ARGS);  \
  PG_FUNCTION_INFO_V1(name);                 \
  }
