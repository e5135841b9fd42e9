// Validation of OpenAI-shaped chat requests and their translation to each dialect's wire format.
// Error messages name members ("messages[3].role"), never a value a user wrote.
#include "core/provider/dialect.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace pgp::core::provider {

namespace {

using nlohmann::json;
namespace ss = provider_sqlstate;

constexpr const char* kAnthropicVersion = "2023-06-01";

[[noreturn]] void invalid(const std::string& message, const std::string& detail = {}) {
  throw Error(ss::kInvalidRequest, message, detail);
}

double number_in(const json& v, const char* name, double lo, double hi) {
  if (!v.is_number()) invalid(std::string("request member \"") + name + "\" must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi)
    invalid(std::string("request member \"") + name + "\" is out of range",
            "The valid range is " + json(lo).dump() + " to " + json(hi).dump() + ".");
  return d;
}

std::int64_t integer(const json& v, const char* name, std::int64_t lo) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX))
    invalid(std::string("request member \"") + name + "\" must be an integer");
  const std::int64_t i = v.get<std::int64_t>();
  if (i < lo)
    invalid(std::string("request member \"") + name + "\" must be at least " + std::to_string(lo));
  return i;
}

bool known_role(const std::string& r) {
  return r == "system" || r == "developer" || r == "user" || r == "assistant";
}

std::vector<Message> parse_messages(const json& v, const RequestLimits& limits) {
  if (!v.is_array() || v.empty()) invalid("request member \"messages\" must be a non-empty array");
  if (v.size() > limits.max_messages)
    invalid("request has too many messages",
            "At most " + std::to_string(limits.max_messages) + " messages are accepted.");
  std::vector<Message> out;
  out.reserve(v.size());
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) invalid("request member \"" + where + "\" must be an object");
    for (const auto& [key, _] : m.items())
      if (key != "role" && key != "content" && key != "name")
        invalid("request member \"" + where + "\" has an unsupported member",
                "A message has \"role\" and \"content\" (and an optional \"name\", dropped).");
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string() || !known_role(role->get<std::string>()))
      invalid("request member \"" + where + ".role\" must be system, developer, user or assistant");
    const auto content = m.find("content");
    if (content == m.end() || !content->is_string())
      invalid("request member \"" + where + ".content\" must be a string");
    bytes += content->get_ref<const std::string&>().size();
    if (bytes > limits.max_content_bytes)
      invalid("request is too large",
              "The messages may hold at most " + std::to_string(limits.max_content_bytes) +
                  " bytes of content.");
    out.push_back({role->get<std::string>(), content->get<std::string>()});
  }
  return out;
}

std::vector<std::string> parse_stop(const json& v, const RequestLimits& limits) {
  if (v.is_null()) return {};
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) invalid("request member \"stop\" must be a string or an array of strings");
  if (v.size() > limits.max_stop)
    invalid("request member \"stop\" has too many sequences",
            "At most " + std::to_string(limits.max_stop) + " are accepted.");
  std::vector<std::string> out;
  for (const json& s : v) {
    if (!s.is_string()) invalid("request member \"stop\" must be a string or an array of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

bool is_system(const Message& m) { return m.role == "system" || m.role == "developer"; }

json openai_body(Dialect d, const ChatRequest& r, const std::string& model) {
  json body = {{"model", model}, {"messages", json::array()}};
  for (const Message& m : r.messages) {
    // Self-hosted servers predate the "developer" role; it means "system" to them.
    const bool plain = d == Dialect::OpenAICompatible && m.role == "developer";
    body["messages"].push_back({{"role", plain ? "system" : m.role}, {"content", m.content}});
  }
  if (r.temperature) body["temperature"] = *r.temperature;
  if (r.top_p) body["top_p"] = *r.top_p;
  if (r.presence_penalty) body["presence_penalty"] = *r.presence_penalty;
  if (r.frequency_penalty) body["frequency_penalty"] = *r.frequency_penalty;
  // OpenAI deprecated max_tokens for max_completion_tokens; self-hosted servers read max_tokens.
  if (r.max_tokens)
    body[d == Dialect::OpenAI ? "max_completion_tokens" : "max_tokens"] = *r.max_tokens;
  if (r.seed) body["seed"] = *r.seed;
  if (!r.stop.empty()) body["stop"] = r.stop;
  return body;
}

json anthropic_body(const ChatRequest& r, const std::string& model, std::int64_t max_tokens) {
  if (r.seed || r.presence_penalty || r.frequency_penalty)
    invalid("request member is not supported by the anthropic dialect",
            "The anthropic dialect has no seed, presence_penalty or frequency_penalty.");
  if (r.temperature && *r.temperature > 1.0)
    invalid("request member \"temperature\" is out of range",
            "The anthropic dialect accepts 0 to 1.");
  json body = {{"model", model}, {"max_tokens", r.max_tokens.value_or(max_tokens)}};
  std::string system;
  json messages = json::array();
  for (const Message& m : r.messages) {
    if (is_system(m)) {
      if (!system.empty()) system += "\n\n";
      system += m.content;
    } else {
      messages.push_back({{"role", m.role}, {"content", m.content}});
    }
  }
  if (messages.empty())
    invalid("request has no user or assistant message",
            "The anthropic dialect needs at least one message besides system messages.");
  if (!system.empty()) body["system"] = system;
  body["messages"] = std::move(messages);
  if (r.temperature) body["temperature"] = *r.temperature;
  if (r.top_p) body["top_p"] = *r.top_p;
  if (!r.stop.empty()) body["stop_sequences"] = r.stop;
  return body;
}

}  // namespace

std::optional<Dialect> parse_dialect(std::string_view name) {
  if (name == "openai") return Dialect::OpenAI;
  if (name == "anthropic") return Dialect::Anthropic;
  if (name == "openai-compatible") return Dialect::OpenAICompatible;
  return std::nullopt;
}

const char* dialect_name(Dialect d) {
  switch (d) {
    case Dialect::OpenAI: return "openai";
    case Dialect::Anthropic: return "anthropic";
    case Dialect::OpenAICompatible: return "openai-compatible";
  }
  return "unknown";
}

ChatRequest parse_request(const json& request, const RequestLimits& limits) {
  if (!request.is_object()) invalid("request must be a JSON object");
  ChatRequest r;
  bool has_messages = false;
  for (const auto& [key, v] : request.items()) {
    if (key == "messages") {
      r.messages = parse_messages(v, limits);
      has_messages = true;
    } else if (key == "model") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty())
        invalid("request member \"model\" must be a non-empty string");
      r.model = v.get<std::string>();
    } else if (key == "temperature") {
      r.temperature = number_in(v, "temperature", 0, 2);
    } else if (key == "top_p") {
      r.top_p = number_in(v, "top_p", 0, 1);
    } else if (key == "presence_penalty") {
      r.presence_penalty = number_in(v, "presence_penalty", -2, 2);
    } else if (key == "frequency_penalty") {
      r.frequency_penalty = number_in(v, "frequency_penalty", -2, 2);
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      r.max_tokens = integer(v, key.c_str(), 1);
    } else if (key == "seed") {
      r.seed = integer(v, "seed", INT64_MIN);
    } else if (key == "stop") {
      r.stop = parse_stop(v, limits);
    } else if (key == "stream") {
      if (v != false) invalid("request member \"stream\" must be false", "Streaming is not supported.");
    } else if (key == "n") {
      if (v != 1) invalid("request member \"n\" must be 1", "One completion per call is supported.");
    } else {
      invalid("request has an unsupported member",
              "Supported members: messages, model, temperature, top_p, presence_penalty, "
              "frequency_penalty, max_tokens, max_completion_tokens, seed, stop, stream, n.");
    }
  }
  if (!has_messages) invalid("request member \"messages\" is missing");
  return r;
}

ChatRequest parse_request(std::string_view request_json, const RequestLimits& limits) {
  // Bounds the parse itself: JSON escapes make content at most 6 times longer (\u0000), and
  // 64 KiB covers the rest of the request.
  if (request_json.size() / 6 > limits.max_content_bytes + (64 << 10))
    invalid("request is too large",
            "The messages may hold at most " + std::to_string(limits.max_content_bytes) +
                " bytes of content.");
  json j = json::parse(request_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) invalid("request is not valid JSON");
  return parse_request(j, limits);
}

json to_wire(Dialect d, const ChatRequest& request, const TranslateOptions& options) {
  if (request.model && *request.model != options.model &&
      std::find(options.allowed_models.begin(), options.allowed_models.end(), *request.model) ==
          options.allowed_models.end())
    invalid("request member \"model\" names a model this provider does not allow",
            "Omit \"model\" to use the provider's registered model, or name one of its allowed_models.");
  const std::string& model = request.model ? *request.model : options.model;
  if (model.empty()) invalid("request names no model", "Set the provider's model or \"model\".");
  if (d == Dialect::Anthropic) return anthropic_body(request, model, options.default_max_tokens);
  return openai_body(d, request, model);
}

std::string request_url(Dialect d, std::string_view base_url) {
  if (!base_url.starts_with("http://") && !base_url.starts_with("https://"))
    throw Error(ss::kInvalidProvider, "provider base URL must start with http:// or https://");
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  std::string url(base_url);
  if (!base_url.ends_with("/v1")) url += "/v1";
  url += d == Dialect::Anthropic ? "/messages" : "/chat/completions";
  return url;
}

std::vector<std::string> request_headers(Dialect d, std::string_view api_key) {
  for (unsigned char c : api_key)
    if (c <= 0x20 || c == 0x7f)
      throw Error(ss::kInvalidProvider, "provider API key contains invalid characters",
                  "An API key may not hold spaces or control characters.");
  std::vector<std::string> headers = {"Content-Type: application/json",
                                      "Accept: application/json"};
  if (d == Dialect::Anthropic) {
    if (api_key.empty()) throw Error(ss::kInvalidProvider, "provider API key is missing");
    headers.push_back("x-api-key: " + std::string(api_key));
    headers.push_back(std::string("anthropic-version: ") + kAnthropicVersion);
  } else if (!api_key.empty()) {
    headers.push_back("Authorization: Bearer " + std::string(api_key));
  } else if (d == Dialect::OpenAI) {
    throw Error(ss::kInvalidProvider, "provider API key is missing");
  }
  return headers;
}

}  // namespace pgp::core::provider
