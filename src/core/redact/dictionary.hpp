// Whole-word, case-insensitive term lookup for dictionary detectors. Terms live in one hash
// table keyed by their normalised text, so 100k terms cost one probe per word of input.
#pragma once

#include "core/redact/validators.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pgp::core::redact::detail {

class DictionaryMatcher {
 public:
  struct Match {
    Span span;
    int dictionary;  // index given to add()
  };

  // Adds the terms of one dictionary. A term present in several dictionaries belongs to the
  // first one added. Terms without any word character are ignored.
  void add(const std::vector<std::string>& terms, int dictionary);
  bool empty() const { return entries_.empty(); }

  // Appends the longest term match at each word, left to right, without overlaps.
  void find(std::string_view text, std::vector<Match>& out) const;

  std::size_t memory_bytes() const;

 private:
  struct Entry {
    int dictionary = -1;     // -1: only a word prefix of a longer term
    bool is_prefix = false;  // some longer term starts with this key followed by more words
  };
  std::unordered_map<std::string, Entry> entries_;
  std::size_t max_words_ = 0;
  std::size_t key_bytes_ = 0;
};

}  // namespace pgp::core::redact::detail
