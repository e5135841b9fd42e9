// Unit tests of provider request validation and translation: each refusal names the member, the
// three dialects' bodies against golden JSON, URLs and headers.
#include "core/provider/dialect.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pgp::core::provider {
namespace {

using nlohmann::json;
namespace ss = provider_sqlstate;

// The SQLSTATE and message parse_request refuses `text` with, or "ok".
std::string refusal(const std::string& text, const RequestLimits& limits = {}) {
  try {
    parse_request(std::string_view(text), limits);
    return "ok";
  } catch (const Error& e) {
    return e.sqlstate() + " " + e.what();
  }
}

const char* kFull = R"({
  "model": "gpt-4o-mini",
  "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": "Answer in English."},
    {"role": "user", "content": "Summarise the ticket."},
    {"role": "assistant", "content": "Which ticket?"},
    {"role": "user", "content": "The last one."}
  ],
  "temperature": 0.5, "top_p": 0.9, "max_tokens": 200, "stop": "END", "stream": false, "n": 1
})";

TEST(ProviderDialect, parse_dialect_names_round_trip) {
  for (Dialect d : {Dialect::OpenAI, Dialect::Anthropic, Dialect::OpenAICompatible})
    EXPECT_EQ(parse_dialect(dialect_name(d)), d);
  EXPECT_FALSE(parse_dialect("OpenAI"));
  EXPECT_FALSE(parse_dialect("gemini"));
}

TEST(ProviderDialect, parse_request_reads_every_supported_member) {
  const ChatRequest r = parse_request(std::string_view(kFull));
  ASSERT_EQ(r.messages.size(), 5u);
  EXPECT_EQ(r.messages[1].role, "developer");
  EXPECT_EQ(r.messages[4].content, "The last one.");
  EXPECT_EQ(r.model, "gpt-4o-mini");
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.top_p, 0.9);
  EXPECT_EQ(r.max_tokens, 200);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(parse_request(json::parse(R"({"messages":[{"role":"user","content":"x"}],
            "max_completion_tokens":7})")).max_tokens, 7);
}

TEST(ProviderDialect, parse_request_refuses_invalid_shapes_with_pv601) {
  EXPECT_EQ(refusal("not json"), "PV601 request is not valid JSON");
  EXPECT_EQ(refusal("[]"), "PV601 request must be a JSON object");
  EXPECT_EQ(refusal("{}"), "PV601 request member \"messages\" is missing");
  EXPECT_EQ(refusal(R"({"messages":[]})"), "PV601 request member \"messages\" must be a non-empty array");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"tool","content":"x"}]})"),
            "PV601 request member \"messages[0].role\" must be system, developer, user or assistant");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"},{"role":"user"}]})"),
            "PV601 request member \"messages[1].content\" must be a string");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]})"),
            "PV601 request member \"messages[0].content\" must be a string");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"temperature":3})"),
            "PV601 request member \"temperature\" is out of range");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})"),
            "PV601 request member \"max_tokens\" must be at least 1");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})"),
            "PV601 request member \"max_tokens\" must be an integer");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"stream":true})"),
            "PV601 request member \"stream\" must be false");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"x"}],"stop":["a",1]})"),
            "PV601 request member \"stop\" must be a string or an array of strings");
}

TEST(ProviderDialect, unknown_members_are_refused_without_echoing_them) {
  // "tools" could carry text past the redaction of messages: refused, not forwarded.
  const std::string r = refusal(R"({"messages":[{"role":"user","content":"x"}],
                                   "tools":[],"secret-jane@example.com":1})");
  EXPECT_EQ(r, "PV601 request has an unsupported member");
  try {
    parse_request(std::string_view(R"({"messages":[{"role":"user","content":"x"}],"jane@example.com":1})"));
  } catch (const Error& e) {
    EXPECT_EQ(e.detail().find("jane"), std::string::npos);
  }
}

TEST(ProviderDialect, limits_bound_message_count_and_content_size) {
  RequestLimits limits;
  limits.max_messages = 2;
  limits.max_content_bytes = 10;
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},
                                   {"role":"user","content":"c"}]})", limits),
            "PV601 request has too many messages");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"0123456"},{"role":"user","content":"789x"}]})",
                    limits),
            "PV601 request is too large");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":"0123456789"}]})", limits), "ok");
  // Text far over the limit is refused before it is parsed.
  limits.max_content_bytes = 0;
  EXPECT_EQ(refusal(std::string(400'000, ' ') + "{}", limits), "PV601 request is too large");
}

TEST(ProviderDialect, openai_body_is_golden) {
  const json body =
      to_wire(Dialect::OpenAI, parse_request(std::string_view(kFull)), {"default-model", 1024, {"gpt-4o-mini"}});
  EXPECT_EQ(body, json::parse(R"({
    "model": "gpt-4o-mini",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "developer", "content": "Answer in English."},
      {"role": "user", "content": "Summarise the ticket."},
      {"role": "assistant", "content": "Which ticket?"},
      {"role": "user", "content": "The last one."}
    ],
    "temperature": 0.5, "top_p": 0.9, "max_completion_tokens": 200, "stop": ["END"]
  })")) << body.dump(2);
}

TEST(ProviderDialect, openai_compatible_body_uses_max_tokens_and_no_developer_role) {
  ChatRequest r = parse_request(std::string_view(kFull));
  r.model.reset();
  r.seed = 42;
  const json body = to_wire(Dialect::OpenAICompatible, r, {"llama3.1:8b"});
  EXPECT_EQ(body, json::parse(R"({
    "model": "llama3.1:8b",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "system", "content": "Answer in English."},
      {"role": "user", "content": "Summarise the ticket."},
      {"role": "assistant", "content": "Which ticket?"},
      {"role": "user", "content": "The last one."}
    ],
    "temperature": 0.5, "top_p": 0.9, "max_tokens": 200, "seed": 42, "stop": ["END"]
  })")) << body.dump(2);
}

TEST(ProviderDialect, anthropic_body_is_golden) {
  ChatRequest r = parse_request(std::string_view(kFull));
  r.model = "claude-3-5-haiku-latest";
  const json body = to_wire(Dialect::Anthropic, r, {"ignored", 1024, {"claude-3-5-haiku-latest"}});
  EXPECT_EQ(body, json::parse(R"({
    "model": "claude-3-5-haiku-latest",
    "max_tokens": 200,
    "system": "Be brief.\n\nAnswer in English.",
    "messages": [
      {"role": "user", "content": "Summarise the ticket."},
      {"role": "assistant", "content": "Which ticket?"},
      {"role": "user", "content": "The last one."}
    ],
    "temperature": 0.5, "top_p": 0.9, "stop_sequences": ["END"]
  })")) << body.dump(2);
}

TEST(ProviderDialect, anthropic_defaults_max_tokens_and_refuses_what_it_lacks) {
  ChatRequest r = parse_request(std::string_view(R"({"messages":[{"role":"user","content":"hi"}]})"));
  TranslateOptions o{"claude", 333};
  EXPECT_EQ(to_wire(Dialect::Anthropic, r, o),
            json::parse(R"({"model":"claude","max_tokens":333,
                            "messages":[{"role":"user","content":"hi"}]})"));
  r.seed = 1;
  EXPECT_THROW(to_wire(Dialect::Anthropic, r, o), Error);
  r.seed.reset();
  r.temperature = 1.5;
  EXPECT_THROW(to_wire(Dialect::Anthropic, r, o), Error);
  r.temperature.reset();
  r.messages = {{"system", "only a system prompt"}};
  EXPECT_THROW(to_wire(Dialect::Anthropic, r, o), Error);
  EXPECT_THROW(to_wire(Dialect::OpenAI, parse_request(std::string_view(
                   R"({"messages":[{"role":"user","content":"hi"}]})")), {""}),
               Error);  // no model anywhere
}

TEST(ProviderDialect, a_model_the_provider_does_not_allow_is_refused) {
  ChatRequest r = parse_request(std::string_view(R"({"messages":[{"role":"user","content":"hi"}],"model":"gpt-evil"})"));
  try {
    to_wire(Dialect::OpenAI, r, {"gpt-4o-mini", 1024, {"gpt-4o"}});
    FAIL() << "a model outside the allow-list was sent";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), ss::kInvalidRequest);
    EXPECT_EQ((std::string(e.what()) + e.detail()).find("gpt-evil"), std::string::npos);  // never the value
  }
  r.model = "gpt-4o";  // allowed
  EXPECT_EQ(to_wire(Dialect::OpenAI, r, {"gpt-4o-mini", 1024, {"gpt-4o"}})["model"], "gpt-4o");
  r.model = "gpt-4o-mini";  // the registered model itself
  EXPECT_EQ(to_wire(Dialect::OpenAI, r, {"gpt-4o-mini"})["model"], "gpt-4o-mini");
  r.model.reset();  // none named: the registered one
  EXPECT_EQ(to_wire(Dialect::Anthropic, r, {"claude", 10})["model"], "claude");
}

TEST(ProviderDialect, request_url_joins_base_and_path) {
  EXPECT_EQ(request_url(Dialect::OpenAI, "https://api.openai.com"),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(request_url(Dialect::OpenAI, "https://api.openai.com/v1/"),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(request_url(Dialect::Anthropic, "https://api.anthropic.com"),
            "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(request_url(Dialect::OpenAICompatible, "http://127.0.0.1:11434"),
            "http://127.0.0.1:11434/v1/chat/completions");
  try {
    request_url(Dialect::OpenAI, "file:///etc/passwd");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), ss::kInvalidProvider);
  }
}

TEST(ProviderDialect, headers_carry_the_key_per_dialect) {
  using V = std::vector<std::string>;
  EXPECT_EQ(request_headers(Dialect::OpenAI, "sk-abc"),
            (V{"Content-Type: application/json", "Accept: application/json",
               "Authorization: Bearer sk-abc"}));
  EXPECT_EQ(request_headers(Dialect::Anthropic, "sk-ant"),
            (V{"Content-Type: application/json", "Accept: application/json", "x-api-key: sk-ant",
               "anthropic-version: 2023-06-01"}));
  EXPECT_EQ(request_headers(Dialect::OpenAICompatible, ""),
            (V{"Content-Type: application/json", "Accept: application/json"}));
  EXPECT_THROW(request_headers(Dialect::OpenAI, ""), Error);
  EXPECT_THROW(request_headers(Dialect::Anthropic, ""), Error);
}

TEST(ProviderDialect, a_key_that_could_inject_headers_is_refused_without_echo) {
  try {
    request_headers(Dialect::OpenAI, "sk-abc\r\nX-Evil: 1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), ss::kInvalidProvider);
    const std::string all = std::string(e.what()) + e.detail() + e.hint();
    EXPECT_EQ(all.find("sk-abc"), std::string::npos);
  }
}

}  // namespace
}  // namespace pgp::core::provider
