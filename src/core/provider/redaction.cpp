// Runs chat messages through the redaction engine with one detection pass per message, so that
// the counts, the BLOCK check and the written output agree.
#include "core/provider/redaction.hpp"

#include <algorithm>

namespace pgp::core::provider {

namespace {

void redact_text(std::string& text, const redact::Engine& engine,
                 const redact::RedactOptions& options, RedactionReport& report) {
  const std::vector<redact::Finding> findings = engine.detect(text);
  if (findings.empty()) return;
  bool acted = false;
  for (const redact::Finding& f : findings) {
    if (f.action == redact::Action::Allow) continue;
    if (!options.only_types.empty() &&
        std::find(options.only_types.begin(), options.only_types.end(), f.type) ==
            options.only_types.end())
      continue;
    acted = true;
    ++report.counts[f.type];
    if (f.action == redact::Action::Block) report.blocked_types.insert(f.type);
  }
  if (acted) text = engine.apply(text, findings, options);
}

}  // namespace

RedactionReport redact_request(ChatRequest& request, const redact::Engine& engine,
                               const redact::RedactOptions& options) {
  RedactionReport report;
  for (Message& m : request.messages) redact_text(m.content, engine, options, report);
  // Stop sequences are text the application chose, sent as they are: they go through the same
  // redaction (and the same BLOCK refusal), so that no string leaves unredacted.
  for (std::string& s : request.stop) redact_text(s, engine, options, report);
  return report;
}

RedactionReport redact_response(ChatResponse& response, const redact::Engine& engine,
                                const redact::RedactOptions& options) {
  RedactionReport report;
  redact_text(response.content, engine, options, report);
  for (const auto& [type, n] : report.counts) response.redactions[type] += n;
  return report;
}

Error blocked_error(const RedactionReport& report) {
  std::string types;
  for (const std::string& t : report.blocked_types) types += (types.empty() ? "" : ", ") + t;
  return Error(provider_sqlstate::kBlockedContent, "request contains blocked content",
               "Entity types whose action is BLOCK: " + types + ".",
               "Remove the value from the messages before calling the provider.");
}

}  // namespace pgp::core::provider
