// Scores the redaction engine (default configuration) on a labeled JSONL corpus: per-type
// recall, precision and leak rate as defined in the corpus README, plus totals and type accuracy.
#include "core/redact/engine.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using pgp::core::redact::Engine;
using pgp::core::redact::Finding;

struct Label {
  std::string type;
  std::size_t begin, end;  // bytes
};

struct Counts {
  std::size_t labels = 0, caught = 0, typed = 0;    // recall side
  std::size_t spans = 0, right = 0;                 // precision side
  std::size_t chars = 0, leaked = 0;                // leak rate, in code points
};

// Byte offset of every code point index 0..n (corpus offsets count code points).
std::vector<std::size_t> code_point_starts(const std::string& s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  starts.push_back(s.size());
  return starts;
}

std::size_t code_points(const std::string& s, std::size_t b, std::size_t e) {
  std::size_t n = 0;
  for (std::size_t i = b; i < e; ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  return n;
}

bool overlaps(std::size_t b1, std::size_t e1, std::size_t b2, std::size_t e2) {
  return b1 < e2 && b2 < e1;
}

double ratio(std::size_t a, std::size_t b) { return b == 0 ? 1.0 : double(a) / double(b); }

void usage() {
  std::cerr << "usage: redact_eval <corpus.jsonl> [--min-recall X] [--min-precision Y] [--show-errors]\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  double min_recall = -1, min_precision = -1;
  bool show_errors = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--min-recall" && i + 1 < argc) min_recall = std::atof(argv[++i]);
    else if (a == "--min-precision" && i + 1 < argc) min_precision = std::atof(argv[++i]);
    else if (a == "--show-errors") show_errors = true;
    else if (path.empty()) path = a;
    else { usage(); return 2; }
  }
  if (path.empty()) { usage(); return 2; }
  std::ifstream in(path);
  if (!in) { std::cerr << "cannot open " << path << "\n"; return 2; }

  auto engine = Engine::build({});
  std::map<std::string, Counts> by_type;
  Counts total;
  std::string line;
  std::size_t messages = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    std::string text = j.at("text").get<std::string>();
    std::vector<std::size_t> cp = code_point_starts(text);
    std::vector<Label> labels;
    for (const auto& e : j.at("entities"))
      labels.push_back({e.at("type").get<std::string>(), cp.at(e.at("start").get<std::size_t>()),
                        cp.at(e.at("end").get<std::size_t>())});
    std::vector<Finding> found = engine->detect(text);
    ++messages;

    for (const Label& l : labels) {
      Counts& c = by_type[l.type];
      // Characters of the label that no redacted span covers.
      std::vector<bool> covered(l.end - l.begin, false);
      bool same_type = false;
      for (const Finding& f : found) {
        if (!overlaps(f.begin, f.end, l.begin, l.end)) continue;
        same_type |= f.type == l.type;
        for (std::size_t i = std::max(f.begin, l.begin); i < std::min(f.end, l.end); ++i)
          covered[i - l.begin] = true;
      }
      std::size_t leaked = 0;
      for (std::size_t i = l.begin; i < l.end; ++i)
        if (!covered[i - l.begin] && (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++leaked;
      bool caught = leaked == 0;
      for (Counts* k : {&c, &total}) {
        k->labels++;
        k->caught += caught;
        k->typed += caught && same_type;
        k->chars += code_points(text, l.begin, l.end);
        k->leaked += leaked;
      }
      if (show_errors && (!caught || !same_type))
        std::printf("MISS id=%s %s [%s]\n", j.at("id").dump().c_str(), l.type.c_str(),
                    text.substr(l.begin, l.end - l.begin).c_str());
    }
    for (const Finding& f : found) {
      bool right = false;
      for (const Label& l : labels) right |= overlaps(f.begin, f.end, l.begin, l.end);
      for (Counts* k : {&by_type[f.type], &total}) {
        k->spans++;
        k->right += right;
      }
      if (show_errors && !right)
        std::printf("FALSE id=%s %s [%s]\n", j.at("id").dump().c_str(), f.type.c_str(),
                    text.substr(f.begin, f.end - f.begin).c_str());
    }
  }

  std::printf("%zu messages\n", messages);
  std::printf("%-18s %7s %7s %7s %9s %9s %9s\n", "type", "labels", "found", "recall", "precision",
              "leak", "type_acc");
  auto row = [](const std::string& name, const Counts& c) {
    std::printf("%-18s %7zu %7zu %7.4f %9.4f %9.4f %9.4f\n", name.c_str(), c.labels, c.spans,
                ratio(c.caught, c.labels), ratio(c.right, c.spans), ratio(c.leaked, c.chars),
                ratio(c.typed, c.caught));
  };
  for (const auto& [t, c] : by_type) row(t, c);
  row("TOTAL", total);
  double recall = ratio(total.caught, total.labels), precision = ratio(total.right, total.spans);
  if ((min_recall >= 0 && recall < min_recall) || (min_precision >= 0 && precision < min_precision)) {
    std::printf("FAIL: recall %.4f (min %.4f), precision %.4f (min %.4f)\n", recall, min_recall,
                precision, min_precision);
    return 1;
  }
  return 0;
}
