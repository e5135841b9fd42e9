// Unit tests of provider answer normalization: both dialects' answers, finish reasons, usage,
// and the errors for HTTP statuses, provider error bodies and malformed answers.
#include "core/provider/response.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pgp::core::provider {
namespace {

using nlohmann::json;
namespace ss = provider_sqlstate;

// SQLSTATE, message and detail of the refusal, or "ok".
std::string refusal(Dialect d, long status, const std::string& body) {
  try {
    parse_response(d, status, body, "p");
    return "ok";
  } catch (const Error& e) {
    return e.sqlstate() + " " + e.what() + " | " + e.detail();
  }
}

TEST(ProviderResponse, openai_answer_is_normalized) {
  const ChatResponse r = parse_response(Dialect::OpenAI, 200, R"({
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}})", "default");
  EXPECT_EQ(to_json(r), json::parse(R"({
    "content": "Hello.", "finish_reason": "stop",
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    "provider": "default", "model": "gpt-4o-mini-2024-07-18", "redactions": {}})"));
}

TEST(ProviderResponse, anthropic_answer_is_normalized) {
  const ChatResponse r = parse_response(Dialect::Anthropic, 200, R"({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
    "content": [{"type": "text", "text": "Hello"}, {"type": "tool_use", "id": "t", "name": "x",
                 "input": {}}, {"type": "text", "text": " there."}],
    "stop_reason": "max_tokens", "stop_sequence": null,
    "usage": {"input_tokens": 20, "output_tokens": 7}})", "claude");
  EXPECT_EQ(to_json(r), json::parse(R"({
    "content": "Hello there.", "finish_reason": "length",
    "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27},
    "provider": "claude", "model": "claude-3-5-haiku-20241022", "redactions": {}})"));
}

TEST(ProviderResponse, finish_reasons_are_normalized) {
  auto openai = [](const char* reason) {
    return parse_response(Dialect::OpenAI, 200,
                          std::string(R"({"choices":[{"message":{"content":null},"finish_reason":")") +
                              reason + "\"}]}",
                          "p")
        .finish_reason;
  };
  EXPECT_EQ(openai("length"), "length");
  EXPECT_EQ(openai("tool_calls"), "tool_calls");
  EXPECT_EQ(openai("function_call"), "tool_calls");
  EXPECT_EQ(openai("content_filter"), "content_filter");
  EXPECT_EQ(openai("something_new"), "other");
  auto anthropic = [](const char* reason) {
    return parse_response(Dialect::Anthropic, 200,
                          std::string(R"({"content":[],"stop_reason":")") + reason + "\"}", "p")
        .finish_reason;
  };
  EXPECT_EQ(anthropic("end_turn"), "stop");
  EXPECT_EQ(anthropic("stop_sequence"), "stop");
  EXPECT_EQ(anthropic("tool_use"), "tool_calls");
  EXPECT_EQ(anthropic("refusal"), "content_filter");
}

TEST(ProviderResponse, a_self_hosted_answer_without_usage_counts_zero) {
  const ChatResponse r = parse_response(
      Dialect::OpenAICompatible, 200,
      R"({"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})", "local");
  EXPECT_EQ(r.content, "ok");
  EXPECT_EQ(r.usage.total_tokens, 0);
  EXPECT_EQ(r.model, "");
}

TEST(ProviderResponse, http_errors_carry_the_status_and_the_error_type_only) {
  EXPECT_EQ(refusal(Dialect::OpenAI, 429,
                    R"({"error":{"message":"Rate limit for jane@example.com","type":"rate_limit_error"}})"),
            "PV614 provider answered with HTTP status 429 | The provider's error type is rate_limit_error.");
  EXPECT_EQ(refusal(Dialect::Anthropic, 400,
                    R"({"type":"error","error":{"type":"invalid_request_error","message":"x"}})"),
            "PV614 provider answered with HTTP status 400 | The provider's error type is "
            "invalid_request_error.");
  // A "type" that is not a plain identifier could be text copied from the request.
  EXPECT_EQ(refusal(Dialect::OpenAI, 500, R"({"error":{"type":"card 4111 1111 1111 1111"}})"),
            "PV614 provider answered with HTTP status 500 | ");
  EXPECT_EQ(refusal(Dialect::OpenAI, 502, "<html>bad gateway</html>"),
            "PV614 provider answered with HTTP status 502 | ");
}

TEST(ProviderResponse, malformed_answers_are_pv615_without_echo) {
  EXPECT_EQ(refusal(Dialect::OpenAI, 200, R"({"choices":[{"message":{"content":"jane@exa)"),
            "PV615 malformed response from the provider | The answer is not valid JSON.");
  EXPECT_EQ(refusal(Dialect::OpenAI, 200, R"(["jane@example.com"])"),
            "PV615 malformed response from the provider | The answer is not a JSON object.");
  EXPECT_EQ(refusal(Dialect::OpenAI, 200, R"({"choices":[]})"),
            "PV615 malformed response from the provider | The answer has no \"choices\".");
  EXPECT_EQ(refusal(Dialect::OpenAI, 200, R"({"choices":[{"message":{"content":5}}]})"),
            "PV615 malformed response from the provider | A member that should be a string is not.");
  EXPECT_EQ(refusal(Dialect::Anthropic, 200, R"({"content":"text"})"),
            "PV615 malformed response from the provider | The answer has no \"content\".");
  EXPECT_EQ(refusal(Dialect::Anthropic, 200, R"({"content":[],"usage":{"input_tokens":"7"}})"),
            "PV615 malformed response from the provider | A token count is not an integer.");
}

TEST(ProviderResponse, errors_become_error_objects_for_provider_call_many) {
  EXPECT_EQ(error_to_json(Error(ss::kTimeout, "provider call timed out", "libcurl: x.", "Retry.")),
            json::parse(R"({"error":{"sqlstate":"PV611","message":"provider call timed out",
                                     "detail":"libcurl: x.","hint":"Retry."}})"));
  EXPECT_EQ(error_to_json(Error(ss::kCancelled, "provider call cancelled")),
            json::parse(R"({"error":{"sqlstate":"PV612","message":"provider call cancelled"}})"));
}

TEST(ProviderResponse, an_error_object_in_a_2xx_answer_is_pv616) {
  EXPECT_EQ(refusal(Dialect::OpenAICompatible, 200, R"({"error":{"type":"overloaded"}})"),
            "PV616 provider answered with an error | The provider's error type is overloaded.");
}

}  // namespace
}  // namespace pgp::core::provider
