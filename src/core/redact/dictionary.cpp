// Dictionary matching: the text is split into words (ASCII alphanumerics, '_', and non-ASCII
// letters), each word start is probed with 1..N-word keys in a hash table. Linear in the input.
#include "core/redact/dictionary.hpp"

#include <deque>

namespace pgp::core::redact::detail {
namespace {

constexpr std::size_t kMaxSeparator = 8;  // longer punctuation between words ends a phrase

// Code point at `i` (bytes of invalid UTF-8 count as one code point of their own value).
std::pair<std::uint32_t, std::size_t> decode(std::string_view s, std::size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1};
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (n == 1 || i + n > s.size()) return {c, 1};
  std::uint32_t cp = c & (0x3F >> (n - 1));
  for (std::size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return {c, 1};
    cp = (cp << 6) | (cc & 0x3F);
  }
  return {cp, n};
}

bool is_word_cp(std::uint32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  // Latin-1 punctuation and symbols, general punctuation (dashes, quotes), and the invalid
  // bytes, separate words; other non-ASCII code points are taken as letters.
  if (cp >= 0x80 && cp <= 0xBF) return false;
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x206F) return false;
  if (cp >= 0x3000 && cp <= 0x303F) return false;
  return true;
}

// Simple case folding for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals.
std::uint32_t fold(std::uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0xC0) return cp;
  if (cp <= 0xDE && cp != 0xD7) return cp + 32;
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return cp | 1;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return (cp & 1) ? cp + 1 : cp;
  if (cp == 0x178) return 0xFF;
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

void append_cp(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void append_folded(std::string& key, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto [cp, n] = decode(s, i);
    if (n == 1 && cp >= 0x80)
      key.push_back(s[i]);  // invalid byte: keep as is
    else
      append_cp(key, fold(cp));
    i += n;
  }
}

// Whitespace between words becomes one space; other separators must match exactly.
bool append_separator(std::string& key, std::string_view sep) {
  if (sep.size() > kMaxSeparator) {
    for (char c : sep)
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  bool all_space = true;
  for (char c : sep) all_space &= (c == ' ' || c == '\t' || c == '\n' || c == '\r');
  if (all_space) {
    key.push_back(' ');
    return true;
  }
  append_folded(key, sep);
  return true;
}

// The next word at or after `pos`, or an empty span at text.size().
Span next_word(std::string_view text, std::size_t pos) {
  std::size_t i = pos;
  while (i < text.size()) {
    auto [cp, n] = decode(text, i);
    if (is_word_cp(cp) && !(n == 1 && cp >= 0x80)) break;
    i += n;
  }
  std::size_t b = i;
  while (i < text.size()) {
    auto [cp, n] = decode(text, i);
    if (!is_word_cp(cp) || (n == 1 && cp >= 0x80)) break;
    i += n;
  }
  return {b, i};
}

// The words of a term and the key they make.
std::pair<std::string, std::size_t> term_key(std::string_view term, std::vector<std::size_t>* word_ends) {
  std::string key;
  std::size_t words = 0;
  std::size_t pos = 0;
  std::size_t prev_end = 0;
  for (;;) {
    Span w = next_word(term, pos);
    if (w.begin == w.end) break;
    if (words > 0 && !append_separator(key, term.substr(prev_end, w.begin - prev_end))) break;
    append_folded(key, term.substr(w.begin, w.end - w.begin));
    if (word_ends) word_ends->push_back(key.size());
    ++words;
    prev_end = pos = w.end;
  }
  return {key, words};
}

}  // namespace

void DictionaryMatcher::add(const std::vector<std::string>& terms, int dictionary) {
  std::vector<std::size_t> ends;
  for (const std::string& term : terms) {
    ends.clear();
    auto [key, words] = term_key(term, &ends);
    if (words == 0) continue;
    Entry& e = entries_[key];
    if (e.dictionary < 0) e.dictionary = dictionary;
    for (std::size_t k = 0; k + 1 < ends.size(); ++k) entries_[key.substr(0, ends[k])].is_prefix = true;
    max_words_ = std::max(max_words_, words);
  }
  key_bytes_ = 0;
  for (const auto& [k, v] : entries_) key_bytes_ += k.capacity();
}

void DictionaryMatcher::find(std::string_view text, std::vector<Match>& out) const {
  if (entries_.empty()) return;
  std::deque<Span> window;  // upcoming words, at most max_words_
  std::size_t scan = 0;
  auto fill = [&](std::size_t k) {
    while (window.size() < k && scan < text.size()) {
      Span w = next_word(text, scan);
      scan = w.end;
      if (w.begin == w.end) break;
      window.push_back(w);
    }
  };
  std::string key;
  for (;;) {
    fill(1);
    if (window.empty()) break;
    key.clear();
    std::size_t best = 0;
    int best_dict = -1;
    for (std::size_t k = 1; k <= max_words_; ++k) {
      fill(k);
      if (window.size() < k) break;
      if (k > 1) {
        std::string_view sep = text.substr(window[k - 2].end, window[k - 1].begin - window[k - 2].end);
        if (!append_separator(key, sep)) break;
      }
      append_folded(key, text.substr(window[k - 1].begin, window[k - 1].end - window[k - 1].begin));
      auto it = entries_.find(key);
      if (it == entries_.end()) break;
      if (it->second.dictionary >= 0) {
        best = k;
        best_dict = it->second.dictionary;
      }
      if (!it->second.is_prefix) break;
    }
    if (best > 0) {
      out.push_back({{window[0].begin, window[best - 1].end}, best_dict});
      window.erase(window.begin(), window.begin() + static_cast<std::ptrdiff_t>(best));
    } else {
      window.pop_front();
    }
  }
}

std::size_t DictionaryMatcher::memory_bytes() const {
  // Node, bucket pointer and key for each entry.
  return entries_.size() * (sizeof(std::pair<const std::string, Entry>) + 2 * sizeof(void*)) +
         entries_.bucket_count() * sizeof(void*) + key_bytes_;
}

}  // namespace pgp::core::redact::detail
