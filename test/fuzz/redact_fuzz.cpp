// libFuzzer target of the redaction engine: detect, redact, mask and apply on arbitrary bytes,
// with a custom rule, a dictionary and an allow-list compiled in; checks the findings' shape.
#include "core/redact/engine.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace pgp::core::redact;

static const Engine& engine() {
  static std::unique_ptr<Engine> e = [] {
    EngineConfig cfg;
    RuleSpec r;
    r.name = "ticket";
    r.entity_type = "TICKET_ID";
    r.pattern = "TCK-([0-9]{6})";
    r.action = Action::Mask;
    cfg.rules.push_back(r);
    cfg.dictionaries.push_back({"customers", "CUSTOMER", Action::Redact, {"Globex", "Initech Corp"}});
    cfg.allow.push_back({"support@acme.example", ""});
    return Engine::build(cfg);
  }();
  return *e;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Engine& e = engine();
  const auto findings = e.detect(text);
  std::size_t prev_end = 0;
  for (const auto& f : findings) {
    // Sorted, disjoint, non-empty, inside the input.
    if (f.begin < prev_end || f.begin >= f.end || f.end > size) std::abort();
    prev_end = f.end;
  }
  (void)e.apply(text, findings);
  (void)e.redact(text);
  (void)e.mask(text);
  return 0;
}
