// Verification (and signing, for tests and trusted issuers) of compact JWS tokens: HS256, RS256
// and ES256 only, keys looked up by kid, parsed public keys cached per process.
#pragma once

#include "core/common.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// OpenSSL's public key type, declared here so that this header does not pull in OpenSSL.
struct evp_pkey_st;

namespace pgp::core::crypto {

// SQLSTATEs of the JWT refusals (class PV2xx). Keep in sync with docs/sqlstates.md.
namespace jwt_sqlstate {
inline constexpr const char* kMalformed = "PV201";        // not 3 base64url segments of JSON objects
inline constexpr const char* kUnsupportedAlg = "PV202";   // alg none or not HS256/RS256/ES256
inline constexpr const char* kUnknownKey = "PV203";       // kid not found
inline constexpr const char* kRevokedKey = "PV204";       // key revoked
inline constexpr const char* kBadSignature = "PV205";     // signature does not verify
inline constexpr const char* kExpired = "PV206";          // exp passed, or exp missing when required
inline constexpr const char* kNotYetValid = "PV207";      // nbf (or iat) in the future
inline constexpr const char* kWrongIssuer = "PV208";      // iss differs from the expected issuer
inline constexpr const char* kWrongAudience = "PV209";    // aud lacks the expected audience
inline constexpr const char* kTooLarge = "PV210";         // token longer than max_token_bytes
inline constexpr const char* kAlgMismatch = "PV211";      // header alg differs from the key's alg
inline constexpr const char* kMissingClaim = "PV212";     // tenant/subject missing, claim of wrong type
inline constexpr const char* kKeyNotValid = "PV213";      // key outside not_before/expires_at
inline constexpr const char* kInvalidKey = "PV214";       // key material refused
}  // namespace jwt_sqlstate

enum class JwtAlg { HS256, RS256, ES256 };

// Exact, case-sensitive match of "HS256", "RS256" or "ES256".
std::optional<JwtAlg> parse_jwt_alg(std::string_view name);
const char* jwt_alg_name(JwtAlg alg);

// A verification key as stored in privacy.signing_keys.
struct SigningKey {
  std::string kid;
  JwtAlg alg = JwtAlg::HS256;
  // HS256: the shared secret bytes; RS256/ES256: a PEM SubjectPublicKeyInfo
  // ("-----BEGIN PUBLIC KEY-----").
  std::string material;
  std::optional<std::int64_t> not_before;  // unix seconds; key unusable before
  std::optional<std::int64_t> expires_at;  // unix seconds; key unusable after
  bool revoked = false;
};

// Checks key material when a key is added: an HS256 secret of at least 32 bytes, an RSA public
// key of at least 2048 bits for RS256, an EC P-256 public key for ES256. Throws
// Error(PV214) otherwise; the message never contains key material.
void validate_signing_key(JwtAlg alg, std::string_view material);

struct VerifyOptions {
  std::int64_t now = 0;     // unix seconds (the caller passes the clock)
  std::int64_t leeway = 30; // clock skew seconds for exp/nbf/iat; negative counts as 0
  std::string issuer;       // "" = don't check; else iss must equal
  std::string audience;     // "" = don't check; else aud (string or array) must contain it
  std::size_t max_token_bytes = 8192;
  bool require_exp = true;
  std::string tenant_claim = "tenant_id";
  std::string subject_claim = "sub";
  std::string roles_claim = "roles";    // array of strings, or a single string; optional
  std::string region_claim = "region";  // optional string
};

struct Claims {
  std::string kid;
  std::string tenant;   // required, non-empty string
  std::string subject;  // required, non-empty string
  std::vector<std::string> roles;
  std::string region;
  std::int64_t exp = 0;  // 0 if absent
};

// Looks up a key by kid; returns nullptr if unknown. The pointer must stay valid for the
// duration of the verify_jwt call.
using KeyLookup = std::function<const SigningKey*(std::string_view kid)>;

// Owns one parsed OpenSSL public key (EVP_PKEY_free on destruction).
struct PkeyDeleter {
  void operator()(evp_pkey_st* pkey) const noexcept;
};
using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyDeleter>;

// A bounded cache of parsed RS256/ES256 public keys keyed by (alg, exact PEM text), so that
// repeated verification with the same key does not parse PEM again. Least recently used entries
// are evicted beyond `capacity`; capacity 0 disables caching (every get parses). Thread-safe.
// Only public keys are held: HS256 secrets are never cached.
class KeyCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 64;

  explicit KeyCache(std::size_t capacity = kDefaultCapacity);
  ~KeyCache();
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  // The process-wide cache used by verify_jwt when no cache is given.
  static KeyCache& shared();

  // Returns a new reference to the parsed key (validated as validate_signing_key does).
  // Throws Error(PV214) if the material is refused; failures are not cached.
  PkeyPtr get(JwtAlg alg, std::string_view pem);

  void clear();
  std::size_t size() const;
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t hits() const;
  std::size_t misses() const;

 private:
  struct Entry {
    JwtAlg alg;
    std::string pem;
    PkeyPtr pkey;
  };
  // Views into Entry::pem, which list nodes keep at a stable address.
  struct Probe {
    JwtAlg alg;
    std::string_view pem;
    bool operator==(const Probe&) const = default;
  };
  struct ProbeHash {
    std::size_t operator()(const Probe& p) const noexcept;
  };

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<Probe, std::list<Entry>::iterator, ProbeHash> index_;
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

// Verifies a compact JWS token and returns its claims, or throws Error with one of the
// jwt_sqlstate codes. Checks, in order: size (PV210); structure: three base64url segments
// without padding, header and payload JSON objects without duplicate names (PV201); header alg
// (PV202); kid present (PV201) and known (PV203); key revoked (PV204) or outside its validity
// window (PV213); header alg equal to the key's (PV211); signature (PV205); exp (PV206); nbf and
// iat (PV207); iss (PV208); aud (PV209); tenant, subject, roles and region claims (PV212).
// Messages never contain the token, key material, the kid or claim values.
Claims verify_jwt(std::string_view token, const KeyLookup& lookup, const VerifyOptions& opts);
Claims verify_jwt(std::string_view token, const KeyLookup& lookup, const VerifyOptions& opts,
                  KeyCache& cache);

// Signs a token (tests, the demo, trusted issuers): HS256 with a secret (at least 32 bytes),
// RS256/ES256 with a PEM private key. Header {"alg":..,"typ":"JWT","kid":..}; the payload is the
// given text, which must be a JSON object.
std::string sign_jwt(JwtAlg alg, std::string_view kid, std::string_view private_material,
                     std::string_view payload_json);

}  // namespace pgp::core::crypto
