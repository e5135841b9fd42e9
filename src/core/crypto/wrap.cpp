// AES-256-GCM wrapping of secrets under the master key, bound to a WrapLabel (format in wrap.hpp
// and docs/crypto-format.md).
#include "core/crypto/wrap.hpp"

#include "core/common.hpp"
#include "core/crypto/aead.hpp"
#include "core/crypto/crypto_sqlstate.hpp"

#include <limits>

namespace pgp::core::crypto {

namespace {

namespace ss = crypto_sqlstate;

constexpr unsigned char kWrapMagic[2] = {0x70, 0x77};  // "pw"
constexpr unsigned char kWrapFormat = 1;
constexpr std::size_t kWrapHeaderBytes = 3;
// The NUL ends the label, so no field can extend it into another label.
constexpr char kWrapLabelPrefix[] = "pg_privacy wrap v1";

[[noreturn]] void refused_wrapped() {
  throw Error(ss::kWrappedKeyRefused, "wrapped key cannot be unwrapped",
              "The wrapped bytes are damaged, belong to another row, or were wrapped under "
              "another master key.",
              "Check the master key (privacy.master_key_id()); after a change of master key, run "
              "privacy.rotate_master_key() with the previous keyring file.");
}

void append_field(std::string& out, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  out.append(field);
}

void check_field(std::string_view field, const char* message) {
  if (field.empty() || field.size() > std::numeric_limits<std::uint32_t>::max())
    throw Error(sqlstate::kInvalidArgument, message);
}

}  // namespace

WrapLabel WrapLabel::data_key(KeyKind kind, std::string_view tenant, std::uint32_t version,
                              std::string_view subject_ref) {
  if (kind != KeyKind::kTenant && kind != KeyKind::kSubject && kind != KeyKind::kPseudonym)
    throw Error(sqlstate::kInvalidArgument, "unknown key kind");
  check_field(tenant, "a data key needs a tenant");
  if (version == 0) throw Error(sqlstate::kInvalidArgument, "key versions start at 1");
  if (kind == KeyKind::kSubject)
    check_field(subject_ref, "a subject key needs a reference");
  else if (!subject_ref.empty())
    throw Error(sqlstate::kInvalidArgument, "only a subject key has a subject key reference");
  std::string aad(kWrapLabelPrefix, sizeof kWrapLabelPrefix);
  append_field(aad, "data key");
  append_field(aad, std::string_view(reinterpret_cast<const char*>(&kind), 1));
  append_field(aad, tenant);
  const char be_version[4] = {static_cast<char>(version >> 24), static_cast<char>(version >> 16),
                              static_cast<char>(version >> 8), static_cast<char>(version)};
  append_field(aad, std::string_view(be_version, 4));
  append_field(aad, subject_ref);
  return WrapLabel(std::move(aad));
}

WrapLabel WrapLabel::provider_secret(std::string_view provider) {
  check_field(provider, "a provider secret needs a provider name");
  std::string aad(kWrapLabelPrefix, sizeof kWrapLabelPrefix);
  append_field(aad, "provider secret");
  append_field(aad, provider);
  return WrapLabel(std::move(aad));
}

std::string wrap_secret(const SecretKey& master, std::string_view secret, const WrapLabel& label) {
  std::string out(kWrapHeaderBytes + kGcmNonceBytes + secret.size() + kGcmTagBytes, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = kWrapMagic[0];
  p[1] = kWrapMagic[1];
  p[2] = kWrapFormat;
  unsigned char* nonce = p + kWrapHeaderBytes;
  gcm_random_nonce(nonce);
  gcm_seal(master, nonce, label.associated_data(), secret, nonce + kGcmNonceBytes,
           nonce + kGcmNonceBytes + secret.size());
  return out;
}

SecretBytes unwrap_secret(const SecretKey& master, std::string_view wrapped,
                          const WrapLabel& label) {
  constexpr std::size_t kOverhead = kWrapHeaderBytes + kGcmNonceBytes + kGcmTagBytes;
  const auto* p = reinterpret_cast<const unsigned char*>(wrapped.data());
  if (wrapped.size() < kOverhead || p[0] != kWrapMagic[0] || p[1] != kWrapMagic[1] ||
      p[2] != kWrapFormat)
    refused_wrapped();
  const std::size_t n = wrapped.size() - kOverhead;
  SecretBytes secret(n);
  const unsigned char* nonce = p + kWrapHeaderBytes;
  if (!gcm_open(master, nonce, label.associated_data(),
                wrapped.substr(kWrapHeaderBytes + kGcmNonceBytes, n), nonce + kGcmNonceBytes + n,
                secret.data()))
    refused_wrapped();
  return secret;
}

SecretKey unwrap_data_key(const SecretKey& master, std::string_view wrapped,
                          const WrapLabel& label) {
  const SecretBytes secret = unwrap_secret(master, wrapped, label);
  if (secret.size() != SecretKey::kBytes) refused_wrapped();
  return SecretKey::from_bytes(secret.view());
}

std::string rewrap_secret(const SecretKey& old_master, const SecretKey& new_master,
                          std::string_view wrapped, const WrapLabel& label) {
  const SecretBytes secret = unwrap_secret(old_master, wrapped, label);
  return wrap_secret(new_master, secret.view(), label);
}

}  // namespace pgp::core::crypto
