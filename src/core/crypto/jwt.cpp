// Compact JWS verification and signing over OpenSSL 3 EVP: HS256 (EVP_MAC), RS256 (PKCS#1 v1.5)
// and ES256 (raw r||s on the wire, DER inside OpenSSL), plus the bounded cache of parsed keys.
#include "core/crypto/jwt.hpp"

#include "core/crypto/base64url.hpp"
#include "core/crypto/hmac.hpp"
#include "core/crypto/openssl_util.hpp"

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace pgp::core::crypto {

namespace {

using nlohmann::json;
namespace ss = jwt_sqlstate;

constexpr std::size_t kHmacMinSecret = 32;
constexpr int kRsaMinBits = 2048;
constexpr std::size_t kEs256SigBytes = 64;
constexpr std::size_t kEs256ScalarBytes = 32;
constexpr int kMaxJsonDepth = 32;

// ---- RAII for OpenSSL objects --------------------------------------------------------------

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// What the caller can do about each refusal (docs/sqlstates.md quotes these). A bad signature
// gets none on purpose: nothing should help to forge one.
const char* hint_for(const char* sqlstate) {
  const std::string_view s(sqlstate);
  if (s == ss::kMalformed) return "Send a compact JWS: three base64url segments of JSON objects, with a \"kid\".";
  if (s == ss::kUnsupportedAlg) return "Sign tokens with HS256, RS256 or ES256.";
  if (s == ss::kUnknownKey)
    return "Add the issuer's key with privacy.add_signing_key(), or re-issue the token with a known \"kid\".";
  if (s == ss::kRevokedKey) return "Re-issue the token with a current key.";
  if (s == ss::kExpired) return "Get a new token from the issuer.";
  if (s == ss::kNotYetValid) return "Check the issuer's clock; privacy.jwt_leeway allows some skew.";
  if (s == ss::kMissingClaim)
    return "Check the claim names: privacy.tenant_claim, subject_claim, roles_claim and region_claim.";
  return "";
}

[[noreturn]] void fail(const char* sqlstate, const char* message, const char* detail = nullptr) {
  throw Error(sqlstate, message, detail ? detail : "", hint_for(sqlstate));
}

// An encrypted PEM must never make OpenSSL prompt on the terminal (the server's stdin).
int no_password(char*, int, int, void*) { return -1; }

BioPtr memory_bio(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) fail_internal("BIO_new_mem_buf failed");
  return bio;
}

// ---- Key material --------------------------------------------------------------------------

// Why `pkey` is unfit for `alg`, or nullptr if it fits.
const char* key_shape_problem(JwtAlg alg, EVP_PKEY* pkey) {
  if (alg == JwtAlg::RS256) {
    if (EVP_PKEY_is_a(pkey, "RSA") != 1) return "An RS256 key must be an RSA public key.";
    if (EVP_PKEY_get_bits(pkey) < kRsaMinBits)
      return "An RS256 key must have a modulus of at least 2048 bits.";
    return nullptr;
  }
  if (EVP_PKEY_is_a(pkey, "EC") != 1) return "An ES256 key must be an EC public key.";
  char group[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1 ||
      std::strcmp(group, "prime256v1") != 0)
    return "An ES256 key must be on the curve P-256.";
  return nullptr;
}

PkeyPtr parse_public_key(JwtAlg alg, std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  PkeyPtr pkey;
  if (bio) pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr));
  if (!pkey)
    fail(ss::kInvalidKey, "invalid signing key material",
         "The key must be a PEM public key (-----BEGIN PUBLIC KEY-----).");
  if (const char* problem = key_shape_problem(alg, pkey.get()))
    fail(ss::kInvalidKey, "invalid signing key material", problem);
  return pkey;
}

PkeyPtr parse_private_key(JwtAlg alg, std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  PkeyPtr pkey;
  if (bio) pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!pkey)
    fail(ss::kInvalidKey, "invalid signing key material",
         "The key must be an unencrypted PEM private key.");
  if (const char* problem = key_shape_problem(alg, pkey.get()))
    fail(ss::kInvalidKey, "invalid signing key material", problem);
  return pkey;
}

void check_hmac_secret(std::string_view secret) {
  if (secret.size() < kHmacMinSecret)
    fail(ss::kInvalidKey, "invalid signing key material",
         "An HS256 secret must be at least 32 bytes.");
}

// ---- ES256 signature encoding (RFC 7518 §3.4) ---------------------------------------------

// Appends a DER INTEGER holding the unsigned big-endian `n` bytes at `p`.
void append_der_integer(std::string& out, const unsigned char* p, std::size_t n) {
  while (n > 1 && *p == 0) {
    ++p;
    --n;
  }
  const bool pad = (*p & 0x80) != 0;
  out.push_back(0x02);
  out.push_back(static_cast<char>(n + (pad ? 1 : 0)));
  if (pad) out.push_back(0x00);
  out.append(reinterpret_cast<const char*>(p), n);
}

// r||s (32 bytes each) to a DER ECDSA-Sig-Value; short-form lengths suffice (at most 70 bytes).
std::string es256_raw_to_der(std::string_view raw) {
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  std::string body;
  append_der_integer(body, p, kEs256ScalarBytes);
  append_der_integer(body, p + kEs256ScalarBytes, kEs256ScalarBytes);
  std::string der;
  der.push_back(0x30);
  der.push_back(static_cast<char>(body.size()));
  der += body;
  return der;
}

// Reads a DER length at der[pos]; false if malformed.
bool read_der_length(std::string_view der, std::size_t& pos, std::size_t& len) {
  if (pos >= der.size()) return false;
  const auto b = static_cast<unsigned char>(der[pos++]);
  if (b < 0x80) {
    len = b;
  } else if (b == 0x81 && pos < der.size()) {
    len = static_cast<unsigned char>(der[pos++]);
  } else {
    return false;
  }
  return len <= der.size() - pos;
}

// DER ECDSA-Sig-Value (as OpenSSL signs) to r||s, each left-padded to 32 bytes.
std::string es256_der_to_raw(std::string_view der) {
  std::size_t pos = 0, len = 0;
  if (der.empty() || der[pos++] != 0x30 || !read_der_length(der, pos, len))
    fail_internal("unexpected ECDSA signature encoding");
  std::string raw(kEs256SigBytes, '\0');
  for (int i = 0; i < 2; ++i) {
    if (pos >= der.size() || der[pos++] != 0x02 || !read_der_length(der, pos, len))
      fail_internal("unexpected ECDSA signature encoding");
    std::string_view v = der.substr(pos, len);
    pos += len;
    while (!v.empty() && v.front() == '\0') v.remove_prefix(1);
    if (v.size() > kEs256ScalarBytes) fail_internal("unexpected ECDSA signature encoding");
    raw.replace((i + 1) * kEs256ScalarBytes - v.size(), v.size(), v);
  }
  return raw;
}

// ---- Signatures ----------------------------------------------------------------------------

bool digest_verify(JwtAlg alg, EVP_PKEY* pkey, std::string_view signing_input,
                   std::string_view sig) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) fail_internal("EVP_MD_CTX_new failed");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, pkey, nullptr) != 1)
    fail_internal("EVP_DigestVerifyInit_ex failed");
  if (alg == JwtAlg::RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
    fail_internal("EVP_PKEY_CTX_set_rsa_padding failed");
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                          sig.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

std::string digest_sign(JwtAlg alg, EVP_PKEY* pkey, std::string_view signing_input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) fail_internal("EVP_MD_CTX_new failed");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestSignInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, pkey, nullptr) != 1)
    fail_internal("EVP_DigestSignInit_ex failed");
  if (alg == JwtAlg::RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
    fail_internal("EVP_PKEY_CTX_set_rsa_padding failed");
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, signing_input.size()) != 1)
    fail_internal("EVP_DigestSign failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     signing_input.size()) != 1)
    fail_internal("EVP_DigestSign failed");
  sig.resize(len);
  return alg == JwtAlg::ES256 ? es256_der_to_raw(sig) : sig;
}

bool verify_signature(const SigningKey& key, std::string_view signing_input,
                      std::string_view sig, KeyCache& cache) {
  switch (key.alg) {
    case JwtAlg::HS256: {
      check_hmac_secret(key.material);
      const auto mac = hmac_sha256(key.material, signing_input);
      return sig.size() == mac.size() && CRYPTO_memcmp(sig.data(), mac.data(), mac.size()) == 0;
    }
    case JwtAlg::RS256: {
      PkeyPtr pkey = cache.get(key.alg, key.material);
      if (sig.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get()))) return false;
      return digest_verify(key.alg, pkey.get(), signing_input, sig);
    }
    case JwtAlg::ES256: {
      if (sig.size() != kEs256SigBytes) return false;
      PkeyPtr pkey = cache.get(key.alg, key.material);
      return digest_verify(key.alg, pkey.get(), signing_input, es256_raw_to_der(sig));
    }
  }
  return false;
}

// ---- JSON ----------------------------------------------------------------------------------

// Parses a JSON object, refusing duplicate member names (RFC 7515 §5.2 allows either refusing
// or taking the last: a verifier and an issuer disagreeing on which one counts is a classic
// bypass) and nesting deeper than kMaxJsonDepth.
std::optional<json> parse_json_object(std::string_view text) {
  bool refused = false;
  std::vector<std::set<std::string, std::less<>>> names;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) refused = true;
    switch (event) {
      case json::parse_event_t::object_start:
        names.emplace_back();
        break;
      case json::parse_event_t::key:
        if (!names.empty() && parsed.is_string() &&
            !names.back().insert(parsed.get_ref<const std::string&>()).second)
          refused = true;
        break;
      case json::parse_event_t::object_end:
        if (!names.empty()) names.pop_back();
        break;
      default:
        break;
    }
    return !refused;
  };
  json value = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false,
                           /*ignore_comments=*/false);
  if (refused || value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

const json* member(const json& object, const std::string& name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// A NumericDate (RFC 7519 §2): seconds, possibly fractional; saturated to int64.
std::optional<std::int64_t> numeric_date(const json& v) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(kMax) ? kMax : static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    if (d >= 9.2e18) return kMax;
    if (d <= -9.2e18) return kMin;
    return static_cast<std::int64_t>(std::floor(d));
  }
  return std::nullopt;
}

std::int64_t sat_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  return r;
}

// An optional time claim: nullopt if absent, PV201 if not a number.
std::optional<std::int64_t> time_claim(const json& payload, const std::string& name,
                                       const char* detail) {
  const json* v = member(payload, name);
  if (!v) return std::nullopt;
  auto t = numeric_date(*v);
  if (!t) fail(ss::kMalformed, "malformed token", detail);
  return t;
}

// A claim string must not smuggle a NUL byte into Postgres text.
bool clean_string(const json& v) {
  return v.is_string() && v.get_ref<const std::string&>().find('\0') == std::string::npos;
}

[[noreturn]] void claim_problem(const std::string& claim, const char* what) {
  // The claim's name comes from the server's configuration, never from the token.
  throw Error(ss::kMissingClaim, "token lacks a required claim or has a claim of the wrong type",
              "The claim \"" + claim + "\" " + what, hint_for(ss::kMissingClaim));
}

std::string required_string_claim(const json& payload, const std::string& claim) {
  const json* v = member(payload, claim);
  if (!v || !clean_string(*v) || v->get_ref<const std::string&>().empty())
    claim_problem(claim, "must be a non-empty string.");
  return v->get<std::string>();
}

}  // namespace

// ---- Public API ----------------------------------------------------------------------------

std::optional<JwtAlg> parse_jwt_alg(std::string_view name) {
  if (name == "HS256") return JwtAlg::HS256;
  if (name == "RS256") return JwtAlg::RS256;
  if (name == "ES256") return JwtAlg::ES256;
  return std::nullopt;
}

const char* jwt_alg_name(JwtAlg alg) {
  switch (alg) {
    case JwtAlg::HS256:
      return "HS256";
    case JwtAlg::RS256:
      return "RS256";
    case JwtAlg::ES256:
      return "ES256";
  }
  return "?";
}

void PkeyDeleter::operator()(evp_pkey_st* pkey) const noexcept { EVP_PKEY_free(pkey); }

void validate_signing_key(JwtAlg alg, std::string_view material) {
  ErrQueueGuard guard;
  if (alg == JwtAlg::HS256) {
    check_hmac_secret(material);
    return;
  }
  parse_public_key(alg, material);
}

std::size_t KeyCache::ProbeHash::operator()(const Probe& p) const noexcept {
  return std::hash<std::string_view>{}(p.pem) ^ (static_cast<std::size_t>(p.alg) * 0x9E3779B97F4A7C15ull);
}

KeyCache::KeyCache(std::size_t capacity) : capacity_(capacity) {
  // Initialise OpenSSL first: a static KeyCache is then destroyed before OpenSSL's atexit
  // cleanup, so its EVP_PKEY_free calls run while the library is still usable.
  OPENSSL_init_crypto(0, nullptr);
}

KeyCache::~KeyCache() = default;

KeyCache& KeyCache::shared() {
  static KeyCache cache;
  return cache;
}

PkeyPtr KeyCache::get(JwtAlg alg, std::string_view pem) {
  auto new_ref = [](EVP_PKEY* pkey) {
    if (EVP_PKEY_up_ref(pkey) != 1) fail_internal("EVP_PKEY_up_ref failed");
    return PkeyPtr(pkey);
  };
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(Probe{alg, pem});
    if (it != index_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second);
      return new_ref(it->second->pkey.get());
    }
    ++misses_;
  }
  // Parse outside the lock: it is the slow part.
  PkeyPtr parsed = parse_public_key(alg, pem);
  if (capacity_ == 0) return parsed;
  std::lock_guard lock(mu_);
  auto it = index_.find(Probe{alg, pem});
  if (it != index_.end()) return new_ref(it->second->pkey.get());  // another thread won
  lru_.push_front(Entry{alg, std::string(pem), std::move(parsed)});
  index_.emplace(Probe{alg, lru_.front().pem}, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(Probe{lru_.back().alg, lru_.back().pem});
    lru_.pop_back();
  }
  return new_ref(lru_.front().pkey.get());
}

void KeyCache::clear() {
  std::lock_guard lock(mu_);
  index_.clear();
  lru_.clear();
}

std::size_t KeyCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

std::size_t KeyCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

std::size_t KeyCache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

Claims verify_jwt(std::string_view token, const KeyLookup& lookup, const VerifyOptions& opts) {
  return verify_jwt(token, lookup, opts, KeyCache::shared());
}

Claims verify_jwt(std::string_view token, const KeyLookup& lookup, const VerifyOptions& opts,
                  KeyCache& cache) {
  ErrQueueGuard guard;

  // Size.
  if (token.size() > opts.max_token_bytes)
    throw Error(ss::kTooLarge, "token exceeds the maximum size",
                "The limit is " + std::to_string(opts.max_token_bytes) + " bytes.");

  // Structure.
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    fail(ss::kMalformed, "malformed token",
         "A token must have three base64url segments separated by dots.");
  const std::string_view signing_input = token.substr(0, dot2);
  auto header_bytes = base64url_decode(token.substr(0, dot1));
  auto payload_bytes = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header_bytes || !payload_bytes || !sig)
    fail(ss::kMalformed, "malformed token",
         "Each segment must be base64url without padding.");
  auto header = parse_json_object(*header_bytes);
  if (!header)
    fail(ss::kMalformed, "malformed token", "The header must be a JSON object.");
  auto payload = parse_json_object(*payload_bytes);
  if (!payload)
    fail(ss::kMalformed, "malformed token", "The payload must be a JSON object.");
  // No extension is understood, so a token that marks one critical cannot be processed
  // (RFC 7515 §4.1.11); this also refuses unencoded payloads (RFC 7797).
  if (member(*header, "crit"))
    fail(ss::kMalformed, "malformed token", "The header must not have a \"crit\" parameter.");

  // Algorithm.
  const json* alg_v = member(*header, "alg");
  if (!alg_v || !alg_v->is_string())
    fail(ss::kMalformed, "malformed token", "The header must have an \"alg\" string.");
  const auto alg = parse_jwt_alg(alg_v->get_ref<const std::string&>());
  if (!alg)
    fail(ss::kUnsupportedAlg, "unsupported token algorithm",
         "Only HS256, RS256 and ES256 are accepted.");

  // Key.
  const json* kid_v = member(*header, "kid");
  if (!kid_v || !kid_v->is_string() || kid_v->get_ref<const std::string&>().empty())
    fail(ss::kMalformed, "malformed token", "The header must have a non-empty \"kid\" string.");
  const std::string& kid = kid_v->get_ref<const std::string&>();
  const SigningKey* key = lookup ? lookup(kid) : nullptr;
  if (!key) fail(ss::kUnknownKey, "unknown signing key");
  if (key->revoked) fail(ss::kRevokedKey, "signing key has been revoked");
  if (key->not_before && opts.now < *key->not_before)
    fail(ss::kKeyNotValid, "signing key is not yet valid");
  if (key->expires_at && opts.now > *key->expires_at)
    fail(ss::kKeyNotValid, "signing key has expired");
  if (*alg != key->alg)
    fail(ss::kAlgMismatch, "token algorithm does not match the signing key",
         "The header's \"alg\" must be the algorithm registered for the key.");

  // Signature.
  if (!verify_signature(*key, signing_input, *sig, cache))
    fail(ss::kBadSignature, "invalid token signature");

  // Time.
  const std::int64_t leeway = opts.leeway > 0 ? opts.leeway : 0;
  const auto exp = time_claim(*payload, "exp", "The claim \"exp\" must be a number.");
  if (!exp && opts.require_exp)
    fail(ss::kExpired, "token has no expiration time", "The claim \"exp\" is required.");
  if (exp && sat_add(*exp, leeway) <= opts.now) fail(ss::kExpired, "token has expired");
  const auto nbf = time_claim(*payload, "nbf", "The claim \"nbf\" must be a number.");
  if (nbf && *nbf > sat_add(opts.now, leeway)) fail(ss::kNotYetValid, "token is not yet valid");
  const auto iat = time_claim(*payload, "iat", "The claim \"iat\" must be a number.");
  if (iat && *iat > sat_add(opts.now, leeway))
    fail(ss::kNotYetValid, "token is not yet valid", "The token was issued in the future.");

  // Issuer and audience.
  if (!opts.issuer.empty()) {
    const json* iss = member(*payload, "iss");
    if (!iss || !iss->is_string() || iss->get_ref<const std::string&>() != opts.issuer)
      fail(ss::kWrongIssuer, "token issuer is not accepted");
  }
  if (!opts.audience.empty()) {
    const json* aud = member(*payload, "aud");
    bool ok = false;
    if (aud && aud->is_string()) {
      ok = aud->get_ref<const std::string&>() == opts.audience;
    } else if (aud && aud->is_array()) {
      for (const json& a : *aud)
        if (a.is_string() && a.get_ref<const std::string&>() == opts.audience) ok = true;
    }
    if (!ok) fail(ss::kWrongAudience, "token audience is not accepted");
  }

  // Claims.
  Claims claims;
  claims.kid = kid;
  claims.exp = exp.value_or(0);
  claims.tenant = required_string_claim(*payload, opts.tenant_claim);
  claims.subject = required_string_claim(*payload, opts.subject_claim);
  if (const json* roles = member(*payload, opts.roles_claim)) {
    if (clean_string(*roles)) {
      claims.roles.push_back(roles->get<std::string>());
    } else if (roles->is_array()) {
      for (const json& r : *roles) {
        if (!clean_string(r)) claim_problem(opts.roles_claim, "must be a string or an array of strings.");
        claims.roles.push_back(r.get<std::string>());
      }
    } else {
      claim_problem(opts.roles_claim, "must be a string or an array of strings.");
    }
  }
  if (const json* region = member(*payload, opts.region_claim)) {
    if (!clean_string(*region)) claim_problem(opts.region_claim, "must be a string.");
    claims.region = region->get<std::string>();
  }
  return claims;
}

std::string sign_jwt(JwtAlg alg, std::string_view kid, std::string_view private_material,
                     std::string_view payload_json) {
  ErrQueueGuard guard;
  if (kid.empty()) throw Error(sqlstate::kInvalidArgument, "kid must not be empty");
  if (!parse_json_object(payload_json))
    throw Error(sqlstate::kInvalidArgument, "token payload must be a JSON object");
  nlohmann::ordered_json header;
  header["alg"] = jwt_alg_name(alg);
  header["typ"] = "JWT";
  header["kid"] = std::string(kid);
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const json::exception&) {
    throw Error(sqlstate::kInvalidArgument, "kid must be valid UTF-8");
  }
  std::string signing_input = base64url_encode(header_text);
  signing_input += '.';
  signing_input += base64url_encode(payload_json);

  std::string sig;
  if (alg == JwtAlg::HS256) {
    check_hmac_secret(private_material);
    const auto mac = hmac_sha256(private_material, signing_input);
    sig.assign(reinterpret_cast<const char*>(mac.data()), mac.size());
  } else {
    PkeyPtr pkey = parse_private_key(alg, private_material);
    sig = digest_sign(alg, pkey.get(), signing_input);
  }
  signing_input += '.';
  signing_input += base64url_encode(sig);
  return signing_input;
}

}  // namespace pgp::core::crypto
