// Engine::apply and the one-pass entry points built on it: turns a text and its findings into the
// redacted output, so callers can detect once and then count, refuse (BLOCK) or write.
#include "core/redact/detectors.hpp"
#include "core/redact/engine.hpp"

#include <algorithm>

namespace pgp::core::redact {

namespace detail {

bool selected(const RedactOptions& opts, std::string_view type) {
  return opts.only_types.empty() ||
         std::find(opts.only_types.begin(), opts.only_types.end(), type) != opts.only_types.end();
}

bool acted_on(Action action, std::string_view type, const RedactOptions& opts) {
  return action != Action::Allow && selected(opts, type);
}

void append_placeholder(std::string& out, std::string_view tmpl, std::string_view type) {
  constexpr std::string_view kVar = "{type}";
  std::size_t pos = 0;
  for (;;) {
    const std::size_t hit = tmpl.find(kVar, pos);
    if (hit == std::string_view::npos) break;
    out.append(tmpl.substr(pos, hit - pos));
    out.append(type);
    pos = hit + kVar.size();
  }
  out.append(tmpl.substr(pos));
}

void append_replacement(std::string& out, std::string_view value, std::string_view type, Action action,
                        const RedactOptions& opts) {
  if (action == Action::Mask)
    append_masked(out, type, value);
  else
    append_placeholder(out, opts.placeholder, type);
}

}  // namespace detail

std::string Engine::apply(std::string_view text, const std::vector<Finding>& findings,
                          const RedactOptions& opts) const {
  std::string out;
  out.reserve(text.size() + findings.size() * 16);
  std::size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.begin < pos || f.end > text.size() || f.begin >= f.end) continue;  // defensive: sorted, disjoint
    if (!detail::acted_on(f.action, f.type, opts)) continue;
    out.append(text.substr(pos, f.begin - pos));
    detail::append_replacement(out, text.substr(f.begin, f.end - f.begin), f.type, f.action, opts);
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

namespace {
// Appends `text` with every code point that is not ASCII whitespace replaced by '*'.
void append_hidden(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      out.push_back(static_cast<char>(c));
    else if ((c & 0xC0) != 0x80)  // the first byte of a code point; continuation bytes vanish
      out.push_back('*');
  }
}
}  // namespace

std::string mask_whole(const Engine& engine, std::string_view text) {
  thread_local std::vector<Finding> findings;  // reused: this runs once per row read
  engine.detect_into(text, findings);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.begin < pos || f.end > text.size() || f.begin >= f.end) continue;
    append_hidden(out, text.substr(pos, f.begin - pos));
    out.append(mask_value(f.type, text.substr(f.begin, f.end - f.begin)));
    pos = f.end;
  }
  append_hidden(out, text.substr(pos));
  return out;
}

// Engines that do not override the one-pass entry points get them from detect() and apply().

void Engine::detect_into(std::string_view text, std::vector<Finding>& out) const { out = detect(text); }

bool Engine::detect_any(std::string_view text) const {
  const std::vector<Finding> findings = detect(text);
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.action != Action::Allow; });
}

void Engine::redact_into(std::string_view text, const RedactOptions& opts, std::string& out,
                         std::vector<Finding>* findings_out) const {
  std::vector<Finding> findings = detect(text);
  out = apply(text, findings, opts);
  if (findings_out) *findings_out = std::move(findings);
}

void Engine::redact_into_types(std::string_view text, const RedactOptions& opts, std::string& out,
                               std::vector<std::string_view>& types_out) const {
  thread_local std::vector<Finding> findings;  // what the views point into, until the next call
  redact_into(text, opts, out, &findings);
  types_out.clear();
  for (const Finding& f : findings) types_out.push_back(f.type);
}

}  // namespace pgp::core::redact
