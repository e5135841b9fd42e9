// Canonical encoding and SHA-256 chaining of audit records (OpenSSL EVP), and the verifier that
// detects changed, deleted, inserted or reordered records and a cut-off tail.
#include "core/audit/chain.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <cstring>


namespace pgp::core::audit {

namespace {
constexpr char kVersion[] = "pgp-audit-v2";

char* put_be64(char* out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) *out++ = static_cast<char>((v >> shift) & 0xFF);
  return out;
}
}  // namespace

void canonical_into(const std::vector<Field>& fields, std::string& out) {
  std::size_t size = sizeof kVersion;
  for (const Field& f : fields) size += f ? 9 + f->size() : 1;
  // Written through a pointer into the sized string: appending byte by byte cost more than the
  // hash in the verifier.
  out.resize(size);
  char* p = out.data();
  memcpy(p, kVersion, sizeof kVersion);  // includes the NUL: the tag cannot run into a field
  p += sizeof kVersion;
  for (const Field& f : fields) {
    if (!f) {
      *p++ = static_cast<char>(0xFF);
      continue;
    }
    *p++ = '\0';
    p = put_be64(p, f->size());
    memcpy(p, f->data(), f->size());
    p += f->size();
  }
}

std::string canonical(const std::vector<Field>& fields) {
  std::string out;
  canonical_into(fields, out);
  return out;
}

namespace {
// SHA-256 fetched once and one reusable context per thread: fetching the algorithm and
// allocating a context for every record cost more than hashing it.
struct Sha256 {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Sha256() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
};
}  // namespace

Hash chain_hash(const Hash& prev, std::string_view canonical_record) {
  thread_local Sha256 sha;
  Hash out{};
  unsigned int len = 0;
  if (!sha.md || !sha.ctx || EVP_DigestInit_ex2(sha.ctx, sha.md, nullptr) != 1 ||
      EVP_DigestUpdate(sha.ctx, prev.data(), prev.size()) != 1 ||
      EVP_DigestUpdate(sha.ctx, canonical_record.data(), canonical_record.size()) != 1 ||
      EVP_DigestFinal_ex(sha.ctx, out.data(), &len) != 1 || len != out.size())
    throw Error(sqlstate::kInternal, "SHA-256 failed in the audit chain");
  return out;
}

std::string utc_timestamp(std::int64_t micros_since_2000) {
  constexpr std::int64_t kMicrosPerDay = 86400LL * 1000000;
  std::int64_t days = micros_since_2000 / kMicrosPerDay;
  std::int64_t rest = micros_since_2000 % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  // Civil date from a day count (Howard Hinnant's days_from_civil, inverted); 2000-01-01 is
  // day 10957 after 1970-01-01.
  const std::int64_t z = days + 10957 + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2);
  const std::int64_t secs = rest / 1000000, micros = rest % 1000000;
  if (year < 0 || year > 9999) {  // outside the documented range: the general (slower) form
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(year),
                  static_cast<long long>(month), static_cast<long long>(day), static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                  static_cast<long long>(micros));
    return buf;
  }
  // Fixed-width digits by hand: snprintf was the largest single cost of the verifier.
  char buf[27];
  auto digits = [&](int at, std::int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
  };
  digits(0, year, 4);
  buf[4] = '-';
  digits(5, month, 2);
  buf[7] = '-';
  digits(8, day, 2);
  buf[10] = 'T';
  digits(11, secs / 3600, 2);
  buf[13] = ':';
  digits(14, secs / 60 % 60, 2);
  buf[16] = ':';
  digits(17, secs % 60, 2);
  buf[19] = '.';
  digits(20, micros, 6);
  buf[26] = 'Z';
  return std::string(buf, sizeof buf);
}

std::string to_hex(const Hash& h) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint8_t b : h) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::optional<Hash> from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash h{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return h;
}

void Verifier::fail(std::int64_t id, std::string reason) {
  result_.ok = false;
  result_.first_bad_id = id;
  result_.reason = std::move(reason);
}

bool Verifier::feed(const StoredRecord& r) {
  if (!result_.ok) return false;
  canonical_into(r.fields, scratch_);
  return feed_encoded(r, scratch_);
}

template <class ContentOk>
bool Verifier::feed_with(const StoredRecord& r, ContentOk content_ok) {
  if (!result_.ok) return false;
  if (r.id != next_id_) {
    // A gap is a deleted record; a smaller id, a duplicate or reordered one.
    fail(r.id, r.id > next_id_ ? "record " + std::to_string(next_id_) + " is missing (deleted)"
                               : "record out of order or duplicated");
    return false;
  }
  if (r.prev_hash != prev_) {
    fail(r.id, "previous-hash link broken (a record before it was changed, inserted or reordered)");
    return false;
  }
  if (!content_ok()) {
    fail(r.id, "record content does not match its hash (changed)");
    return false;
  }
  if (head_ && r.id == head_->id && r.hash != head_->hash) {
    fail(r.id, "the chain does not reach the exported head's hash (rewritten)");
    return false;
  }
  prev_ = r.hash;
  last_id_ = r.id;
  ++next_id_;
  ++result_.checked;
  return true;
}

bool Verifier::feed_encoded(const StoredRecord& r, std::string_view canonical_record) {
  return feed_with(r, [&] { return chain_hash(prev_, canonical_record) == r.hash; });
}

bool Verifier::feed_checked(const StoredRecord& r, bool content_ok) {
  return feed_with(r, [&] { return content_ok; });
}

VerifyResult Verifier::finish(std::optional<std::int64_t> head_id, const std::optional<Hash>& head_hash) {
  if (result_.ok && head_id) {
    if (last_id_ < *head_id) {
      fail(last_id_ + 1, "the chain ends before the exported head (tail cut off)");
    } else if (head_hash && last_id_ == *head_id && prev_ != *head_hash) {
      fail(*head_id, "the chain does not reach the exported head's hash (rewritten)");
    }
  }
  return result_;
}

}  // namespace pgp::core::audit
