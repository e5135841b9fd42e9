// Engine::apply: turns a text and its findings into the redacted output, one pass, so callers
// can detect once and then count, refuse (BLOCK) or write.
#include "core/redact/engine.hpp"

#include <algorithm>

namespace pgp::core::redact {

namespace {
std::string placeholder_for(const std::string& tmpl, const std::string& type) {
  std::string out;
  out.reserve(tmpl.size() + type.size());
  std::size_t pos = 0;
  for (;;) {
    const std::size_t hit = tmpl.find("{type}", pos);
    if (hit == std::string::npos) break;
    out.append(tmpl, pos, hit - pos);
    out += type;
    pos = hit + 6;
  }
  out.append(tmpl, pos, std::string::npos);
  return out;
}

bool selected(const RedactOptions& opts, const std::string& type) {
  return opts.only_types.empty() ||
         std::find(opts.only_types.begin(), opts.only_types.end(), type) != opts.only_types.end();
}
}  // namespace

std::string Engine::apply(std::string_view text, const std::vector<Finding>& findings,
                          const RedactOptions& opts) const {
  std::string out;
  out.reserve(text.size() + findings.size() * 16);
  std::size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.begin < pos || f.end > text.size() || f.begin >= f.end) continue;  // defensive: sorted, disjoint
    if (f.action == Action::Allow || !selected(opts, f.type)) continue;
    out.append(text.substr(pos, f.begin - pos));
    const std::string_view value = text.substr(f.begin, f.end - f.begin);
    if (f.action == Action::Mask)
      out += mask_value(f.type, value);
    else
      out += placeholder_for(opts.placeholder, f.type);
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace pgp::core::redact
