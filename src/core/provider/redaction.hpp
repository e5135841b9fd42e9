// Redaction of a chat request before it leaves the database, and optionally of the answer:
// every message's content goes through the engine; BLOCK findings are reported, not sent.
#pragma once

#include "core/provider/dialect.hpp"
#include "core/provider/response.hpp"
#include "core/redact/engine.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace pgp::core::provider {

struct RedactionReport {
  std::map<std::string, std::int64_t> counts;  // findings per entity type (ALLOW ones excluded)
  std::set<std::string> blocked_types;         // entity types found whose action is BLOCK
};

// Replaces, in place, each message's content and each stop sequence by the engine's output
// (REDACT and BLOCK findings become the placeholder, MASK is masked): every string the request
// sends passes through here, or is a fixed value (role) or an allow-listed one (model). The caller must refuse the call when
// blocked_types is not empty (blocked_error()): the redacted request is then not to be sent.
RedactionReport redact_request(ChatRequest& request, const redact::Engine& engine,
                               const redact::RedactOptions& options = {});

// The same for an answer's content; adds its counts to response.redactions as well.
RedactionReport redact_response(ChatResponse& response, const redact::Engine& engine,
                                const redact::RedactOptions& options = {});

// The error the SQL layer raises for a report with blocked types: kBlockedContent, naming the
// entity types (never the values).
Error blocked_error(const RedactionReport& report);

}  // namespace pgp::core::provider
