// LLM API dialects: a chat request in the OpenAI shape, validated, then written as the body,
// URL and headers of OpenAI /v1/chat/completions, Anthropic /v1/messages or a self-hosted server.
#pragma once

#include "core/common.hpp"
#include "core/provider/sqlstate.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgp::core::provider {

// openai-compatible is the OpenAI wire format as self-hosted servers (vLLM, llama.cpp, Ollama)
// read it: "max_tokens" instead of "max_completion_tokens", no "developer" role, no API key needed.
enum class Dialect { OpenAI, Anthropic, OpenAICompatible };

// "openai", "anthropic", "openai-compatible" (exact, lowercase).
std::optional<Dialect> parse_dialect(std::string_view name);
const char* dialect_name(Dialect d);

// One chat message; role is one of "system", "developer", "user", "assistant".
struct Message {
  std::string role;
  std::string content;
};

// A request that passed parse_request(): every member checked for type and range.
struct ChatRequest {
  std::vector<Message> messages;
  std::optional<std::string> model;  // the provider's model or one it allows (to_wire checks)
  std::optional<double> temperature;  // 0..2 (0..1 for anthropic)
  std::optional<double> top_p;        // 0..1
  std::optional<double> presence_penalty, frequency_penalty;  // -2..2, OpenAI dialects only
  std::optional<std::int64_t> max_tokens;  // > 0; "max_completion_tokens" is read as a synonym
  std::optional<std::int64_t> seed;        // OpenAI dialects only
  std::vector<std::string> stop;           // at most RequestLimits::max_stop sequences
};

struct RequestLimits {
  std::size_t max_messages = 1024;
  std::size_t max_content_bytes = 1 << 20;  // sum of the messages' content, UTF-8 bytes
  std::size_t max_stop = 4;
};

// Validates an OpenAI chat request: "messages" (a non-empty array of {role, content} objects with
// string content; a message's optional "name" is dropped) and the members of ChatRequest;
// "stream": false and "n": 1 are accepted and dropped. Any other member is refused, so that nothing reaches the provider unredacted.
// Throws Error(kInvalidRequest) whose message names the member at fault, never its value.
ChatRequest parse_request(const nlohmann::json& request, const RequestLimits& limits = {});
// The same from JSON text (jsonb's text form); text that is not JSON, or far longer than the
// content limit allows, is kInvalidRequest too.
ChatRequest parse_request(std::string_view request_json, const RequestLimits& limits = {});

struct TranslateOptions {
  std::string model;                        // the provider's model, unless the request names one
  std::int64_t default_max_tokens = 1024;   // anthropic requires max_tokens
  // Other models a request may name (the provider's allowed_models); any other is refused.
  std::vector<std::string> allowed_models = {};
};

// The JSON body for the dialect. The model is the provider's, or the request's when it is the
// provider's or one of allowed_models; any other is refused (kInvalidRequest), so an application
// cannot send the data to a model the provider was not registered for. Anthropic: system and
// developer messages are joined (blank line between) into the top-level "system", stop becomes
// stop_sequences, max_tokens is defaulted; parameters it lacks (seed, penalties) and a
// temperature over 1 are refused (kInvalidRequest).
nlohmann::json to_wire(Dialect d, const ChatRequest& request, const TranslateOptions& options);

// base_url + the dialect's path; a base URL that already ends in "/v1" is not given another.
// Only http:// and https:// URLs are accepted (kInvalidProvider).
std::string request_url(Dialect d, std::string_view base_url);

// The HTTP headers ("Name: value") of a call, with the decrypted API key: Authorization: Bearer
// for the OpenAI dialects (none when the key is empty, for self-hosted servers), x-api-key and
// anthropic-version for anthropic. Never log the result. A key with control characters or
// spaces is refused (kInvalidProvider) without echoing it.
std::vector<std::string> request_headers(Dialect d, std::string_view api_key);

}  // namespace pgp::core::provider
