// The verified tenant context of this backend: set by privacy.authenticate() or, for trusted
// middleware, privacy.set_context(); held in backend memory, never in a settable GUC.
#pragma once

#include "pg/pg.hpp"

#include <string_view>

namespace pgp {

// The verified tenant, or nullptr without a (still valid) context. Never throws or ereports.
const char* current_tenant_or_null() noexcept;
// The verified subject, or nullptr without a (still valid) context. Never throws or ereports.
const char* current_subject_or_null() noexcept;

// The verified region ("" when the token named none), or nullptr without a (still valid)
// context. Never throws or ereports.
const char* current_region_or_null() noexcept;

// The tenant of this backend's own verified context (authenticate/set_context), not one received
// from a Citus coordinator; nullptr without one. Never throws or ereports.
const char* own_tenant_or_null() noexcept;

// True while a verified context is set (and not expired). Never throws or ereports.
bool context_is_verified() noexcept;

// True if the verified context lists `role` among its roles. Never throws or ereports.
bool context_has_role(std::string_view role) noexcept;

}  // namespace pgp
