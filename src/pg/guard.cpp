// Implementation of the exception/ereport crossing: exception classification happens here,
// the ereport happens after the C++ scope of the entry point has closed.
#include "pg/guard.hpp"

#include "core/common.hpp"

#include <cstdio>
#include <cstring>
#include <new>

namespace pgp {
namespace detail {

namespace {
int sqlstate_code(const std::string& s) {
  if (s.size() != 5) return ERRCODE_INTERNAL_ERROR;
  return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}
void copy(char* dst, std::size_t n, const char* src) {
  std::snprintf(dst, n, "%s", src ? src : "");
}
}  // namespace

void capture_current_exception(PendingError& out) noexcept {
  out.set = true;
  out.message[0] = out.detail[0] = out.hint[0] = '\0';
  try {
    throw;
  } catch (const PgException& e) {
    out.pg = e.edata();
  } catch (const core::Error& e) {
    out.sqlerrcode = sqlstate_code(e.sqlstate());
    copy(out.message, sizeof out.message, e.what());
    copy(out.detail, sizeof out.detail, e.detail().c_str());
    copy(out.hint, sizeof out.hint, e.hint().c_str());
  } catch (const std::bad_alloc&) {
    out.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    copy(out.message, sizeof out.message, "out of memory in pg_privacy");
  } catch (const std::exception& e) {
    // Library exceptions (std::out_of_range, ...) carry no user data in what(): keep it as detail.
    out.sqlerrcode = MAKE_SQLSTATE('P', 'V', '0', '0', '0');
    copy(out.message, sizeof out.message, "internal error in pg_privacy");
    copy(out.detail, sizeof out.detail, e.what());
    copy(out.hint, sizeof out.hint, "This is a bug in pg_privacy; please report it.");
  } catch (...) {
    out.sqlerrcode = MAKE_SQLSTATE('P', 'V', '0', '0', '0');
    copy(out.message, sizeof out.message, "internal error in pg_privacy");
    copy(out.detail, sizeof out.detail, "An exception of unknown type was thrown.");
    copy(out.hint, sizeof out.hint, "This is a bug in pg_privacy; please report it.");
  }
}

void raise_pending(PendingError& err) {
  if (err.pg) ReThrowError(err.pg);
  ereport(ERROR, (errcode(err.sqlerrcode), errmsg("%s", err.message),
                  err.detail[0] ? errdetail("%s", err.detail) : 0,
                  err.hint[0] ? errhint("%s", err.hint) : 0));
  pg_unreachable();
}

}  // namespace detail
}  // namespace pgp
