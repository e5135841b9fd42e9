// Normalization of OpenAI chat completions and Anthropic messages answers, and of their error
// bodies. Only identifiers the provider defines (status, error type) reach an error message.
#include "core/provider/response.hpp"

#include <nlohmann/json.hpp>

namespace pgp::core::provider {

namespace {

using nlohmann::json;
namespace ss = provider_sqlstate;

[[noreturn]] void malformed(const char* what) {
  throw Error(ss::kMalformedResponse, "malformed response from the provider", what);
}

// The provider's error type ("rate_limit_error") when it is a short identifier; anything else
// could be text the provider copied from the request.
std::string error_type(const json& body) {
  const json* err = nullptr;
  if (body.is_object() && body.contains("error")) err = &body["error"];
  if (!err || !err->is_object()) return {};
  for (const char* key : {"type", "code"}) {
    auto it = err->find(key);
    if (it == err->end() || !it->is_string()) continue;
    const std::string& s = it->get_ref<const std::string&>();
    if (s.empty() || s.size() > 64) continue;
    bool plain = true;
    for (char c : s)
      plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.');
    if (plain) return s;
  }
  return {};
}

std::string status_hint(long status) {
  if (status == 401 || status == 403) return "Check the provider's API key and its permissions.";
  if (status == 429) return "The provider's rate limit or quota was reached; retry later.";
  if (status >= 500) return "The provider failed; retry later.";
  return {};
}

std::int64_t token_count(const json& usage, const char* key) {
  auto it = usage.find(key);
  if (it == usage.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) malformed("A token count is not an integer.");
  return it->get<std::int64_t>();
}

std::string openai_finish(const std::string& r) {
  if (r == "stop" || r == "length" || r == "tool_calls" || r == "content_filter") return r;
  if (r == "function_call") return "tool_calls";
  return "other";
}

std::string anthropic_finish(const std::string& r) {
  if (r == "end_turn" || r == "stop_sequence") return "stop";
  if (r == "max_tokens") return "length";
  if (r == "tool_use") return "tool_calls";
  if (r == "refusal") return "content_filter";
  return "other";
}

std::string optional_string(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) malformed("A member that should be a string is not.");
  return it->get<std::string>();
}

void parse_openai(const json& body, ChatResponse& out) {
  auto choices = body.find("choices");
  if (choices == body.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object())
    malformed("The answer has no \"choices\".");
  const json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) malformed("The choice has no \"message\".");
  out.content = optional_string(*message, "content");  // null when the model called a tool
  out.finish_reason = openai_finish(optional_string(choice, "finish_reason"));
  if (auto usage = body.find("usage"); usage != body.end() && usage->is_object()) {
    out.usage.prompt_tokens = token_count(*usage, "prompt_tokens");
    out.usage.completion_tokens = token_count(*usage, "completion_tokens");
    out.usage.total_tokens = token_count(*usage, "total_tokens");
  }
}

void parse_anthropic(const json& body, ChatResponse& out) {
  auto content = body.find("content");
  if (content == body.end() || !content->is_array()) malformed("The answer has no \"content\".");
  for (const json& block : *content) {
    if (!block.is_object()) malformed("A content block is not an object.");
    if (optional_string(block, "type") == "text") out.content += optional_string(block, "text");
  }
  out.finish_reason = anthropic_finish(optional_string(body, "stop_reason"));
  if (auto usage = body.find("usage"); usage != body.end() && usage->is_object()) {
    out.usage.prompt_tokens = token_count(*usage, "input_tokens");
    out.usage.completion_tokens = token_count(*usage, "output_tokens");
  }
}

}  // namespace

ChatResponse parse_response(Dialect d, long http_status, std::string_view body_text,
                            std::string_view provider_name) {
  const json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (http_status < 200 || http_status > 299) {
    const std::string type = body.is_discarded() ? std::string() : error_type(body);
    throw Error(ss::kHttpStatus, "provider answered with HTTP status " + std::to_string(http_status),
                type.empty() ? std::string() : "The provider's error type is " + type + ".",
                status_hint(http_status));
  }
  if (body.is_discarded()) malformed("The answer is not valid JSON.");
  if (!body.is_object()) malformed("The answer is not a JSON object.");
  if (body.contains("error") && !body["error"].is_null()) {
    const std::string type = error_type(body);
    throw Error(ss::kProviderError, "provider answered with an error",
                type.empty() ? std::string() : "The provider's error type is " + type + ".");
  }
  ChatResponse out;
  if (d == Dialect::Anthropic)
    parse_anthropic(body, out);
  else
    parse_openai(body, out);
  if (out.usage.total_tokens == 0)
    out.usage.total_tokens = out.usage.prompt_tokens + out.usage.completion_tokens;
  out.provider = provider_name;
  out.model = optional_string(body, "model");
  return out;
}

json to_json(const ChatResponse& r) {
  return {{"content", r.content},
          {"finish_reason", r.finish_reason},
          {"usage",
           {{"prompt_tokens", r.usage.prompt_tokens},
            {"completion_tokens", r.usage.completion_tokens},
            {"total_tokens", r.usage.total_tokens}}},
          {"provider", r.provider},
          {"model", r.model},
          {"redactions", r.redactions}};
}

json error_to_json(const Error& error) {
  json e = {{"sqlstate", error.sqlstate()}, {"message", error.what()}};
  if (!error.detail().empty()) e["detail"] = error.detail();
  if (!error.hint().empty()) e["hint"] = error.hint();
  return {{"error", std::move(e)}};
}

}  // namespace pgp::core::provider
