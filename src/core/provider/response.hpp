// Provider answers of each dialect normalized into one shape: content, finish reason, token
// usage, provider, model and redaction counts; HTTP and provider errors become PV614-PV616.
#pragma once

#include "core/provider/dialect.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace pgp::core::provider {

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
};

struct ChatResponse {
  std::string content;
  // stop, length, tool_calls, content_filter, or other (a reason this version does not know).
  std::string finish_reason;
  Usage usage;
  std::string provider;  // the provider's name as registered
  std::string model;     // the model that answered, as the provider reports it
  // Findings per entity type, of the request's messages and (if asked) of the answer.
  std::map<std::string, std::int64_t> redactions;
};

// Parses the final answer of a call. A status outside 2xx is kHttpStatus (the status in the
// message, the provider's error type in the detail when it is a plain identifier); a 2xx body
// that is not JSON or lacks the dialect's members is kMalformedResponse; a 2xx error object is
// kProviderError. No message echoes the body: it may hold the user's data.
ChatResponse parse_response(Dialect d, long http_status, std::string_view body,
                            std::string_view provider_name);

// {"content", "finish_reason", "usage": {...}, "provider", "model", "redactions": {...}}
nlohmann::json to_json(const ChatResponse& response);

// A failed request in provider_call_many's results:
// {"error": {"sqlstate", "message", "detail", "hint"}}, detail and hint only when not empty.
nlohmann::json error_to_json(const Error& error);

}  // namespace pgp::core::provider
