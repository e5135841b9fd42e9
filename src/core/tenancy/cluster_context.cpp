// Sealing and opening the cluster context (cluster_context.hpp). Payload, all integers big-endian:
//   "PGPC" | version 0x01 | expires (int64) | config_digest | tenant | subject | region |
//   role count (uint32) | roles...   where each string is its length (uint32) then its bytes.
#include "core/tenancy/cluster_context.hpp"

#include "core/common.hpp"
#include "core/crypto/base64url.hpp"
#include "core/crypto/hmac.hpp"

#include <openssl/crypto.h>

namespace pgp::core::tenancy {

namespace {

constexpr std::string_view kMagic = "PGPC";
constexpr unsigned char kVersion = 1;
constexpr std::size_t kMaxPayload = 64 * 1024;
constexpr std::string_view kKeyLabel = "pg_privacy cluster context v1";

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

[[noreturn]] void refused() {
  throw Error(cluster_sqlstate::kContextRefused, "cluster context refused", {},
              "A worker accepts only the context its coordinator sealed with the cluster's master key.");
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::string_view take(std::size_t n) {
    if (n > data_.size() - pos_) refused();
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::uint32_t u32() {
    std::string_view b = take(4);
    std::uint32_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
  }
  std::int64_t i64() {
    std::uint64_t hi = u32(), lo = u32();
    return static_cast<std::int64_t>((hi << 32) | lo);
  }
  std::string string() { return std::string(take(u32())); }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

}  // namespace

crypto::SecretKey cluster_context_key(const crypto::SecretKey& master) {
  const crypto::Sha256Digest d = crypto::hmac_sha256(master.view(), kKeyLabel);
  crypto::SecretKey key = crypto::SecretKey::from_bytes(
      std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
  return key;
}

std::string seal_cluster_context(const crypto::SecretKey& key, const ClusterContext& c) {
  std::string payload(kMagic);
  payload.push_back(static_cast<char>(kVersion));
  const auto expires = static_cast<std::uint64_t>(c.expires);
  put_u32(payload, static_cast<std::uint32_t>(expires >> 32));
  put_u32(payload, static_cast<std::uint32_t>(expires & 0xffffffffu));
  std::size_t total = c.config_digest.size() + c.tenant.size() + c.subject.size() + c.region.size();
  for (const std::string& r : c.roles) total += r.size() + 4;
  if (total > kMaxPayload)
    throw Error(sqlstate::kInvalidArgument, "the verified context is too large to send to the workers");
  put_string(payload, c.config_digest);
  put_string(payload, c.tenant);
  put_string(payload, c.subject);
  put_string(payload, c.region);
  put_u32(payload, static_cast<std::uint32_t>(c.roles.size()));
  for (const std::string& r : c.roles) put_string(payload, r);
  const crypto::Sha256Digest mac = crypto::hmac_sha256(key.view(), payload);
  return crypto::base64url_encode(payload) + "." +
         crypto::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

ClusterContext open_cluster_context(const crypto::SecretKey& key, std::string_view text, std::int64_t now) {
  if (text.size() > 2 * kMaxPayload) refused();
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) refused();
  std::optional<std::string> payload = crypto::base64url_decode(text.substr(0, dot));
  std::optional<std::string> mac = crypto::base64url_decode(text.substr(dot + 1));
  if (!payload || !mac || mac->size() != 32) refused();
  const crypto::Sha256Digest expected = crypto::hmac_sha256(key.view(), *payload);
  if (CRYPTO_memcmp(expected.data(), mac->data(), expected.size()) != 0) refused();

  Reader r(*payload);
  if (r.take(kMagic.size()) != kMagic || r.take(1)[0] != static_cast<char>(kVersion)) refused();
  ClusterContext c;
  c.expires = r.i64();
  c.config_digest = r.string();
  c.tenant = r.string();
  c.subject = r.string();
  c.region = r.string();
  const std::uint32_t nroles = r.u32();
  if (nroles > kMaxPayload / 4) refused();
  for (std::uint32_t i = 0; i < nroles; ++i) c.roles.push_back(r.string());
  if (!r.done() || c.tenant.empty()) refused();
  if (now >= c.expires)
    throw Error(cluster_sqlstate::kContextExpired, "cluster context expired", {},
                "Authenticate again on the coordinator: a context travels to the workers for a limited time.");
  return c;
}

}  // namespace pgp::core::tenancy
