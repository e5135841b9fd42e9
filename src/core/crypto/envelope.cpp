// Envelope sealing, header parsing and opening (format in envelope.hpp and
// docs/crypto-format.md). The header is parsed before any key is touched.
#include "core/crypto/envelope.hpp"

#include "core/common.hpp"
#include "core/crypto/aead.hpp"
#include "core/crypto/crypto_sqlstate.hpp"

#include <cstring>
#include <limits>

namespace pgp::core::crypto {

namespace {

namespace ss = crypto_sqlstate;

constexpr unsigned char kMagic[2] = {0x70, 0x76};  // "pv"
constexpr std::size_t kFixedHeaderBytes = 8;       // magic, format, kind, key version
constexpr std::size_t kTrailerBytes = kGcmNonceBytes + kGcmTagBytes;

[[noreturn]] void malformed(const char* detail) {
  throw Error(ss::kMalformedEnvelope, "malformed encrypted value", detail,
              "Pass a value that privacy.encrypt() or the encrypting trigger returned.");
}

[[noreturn]] void invalid(const char* message) {
  throw Error(sqlstate::kInvalidArgument, message);
}

std::size_t header_size(const EnvelopeHeader& h) {
  return kFixedHeaderBytes + (h.kind == KeyKind::kSubject ? 1 + h.subject_ref.size() : 0);
}

void check_header(const EnvelopeHeader& h) {
  if (h.kind != KeyKind::kTenant && h.kind != KeyKind::kSubject)
    invalid("an encrypted value needs a tenant key or a subject key");
  if (h.key_version == 0) invalid("key versions start at 1");
  const bool subject = h.kind == KeyKind::kSubject;
  if (subject && (h.subject_ref.empty() || h.subject_ref.size() > kMaxSubjectRefBytes))
    invalid("a subject key reference must be 1 to 64 bytes");
  if (!subject && !h.subject_ref.empty()) invalid("only a subject key has a subject key reference");
}

void check_owner(KeyKind kind, const EnvelopeOwner& owner) {
  constexpr std::size_t kMaxId = std::numeric_limits<std::uint32_t>::max();
  if (owner.tenant.empty() || owner.tenant.size() > kMaxId)
    invalid("an encrypted value needs a tenant");
  const bool subject = kind == KeyKind::kSubject;
  if (subject && (owner.subject.empty() || owner.subject.size() > kMaxId))
    invalid("a value under a subject key needs a subject");
  if (!subject && !owner.subject.empty()) invalid("only a value under a subject key has a subject");
}

void put_be32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (24 - 8 * i));
}

std::uint32_t get_be32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

void append_id(std::string& out, std::string_view id) {
  unsigned char len[4];
  put_be32(len, static_cast<std::uint32_t>(id.size()));
  out.append(reinterpret_cast<const char*>(len), sizeof len);
  out.append(id);
}

// Length-prefixed ids after a self-delimiting header: no two owners share an encoding.
std::string associated_data(std::string_view header_bytes, KeyKind kind,
                            const EnvelopeOwner& owner) {
  std::string aad;
  aad.reserve(header_bytes.size() + 8 + owner.tenant.size() + owner.subject.size());
  aad.append(header_bytes);
  append_id(aad, owner.tenant);
  if (kind == KeyKind::kSubject) append_id(aad, owner.subject);
  return aad;
}

struct Parsed {
  EnvelopeHeader header;
  std::size_t header_bytes = 0;
};

Parsed parse(std::string_view envelope) {
  const auto* p = reinterpret_cast<const unsigned char*>(envelope.data());
  const std::size_t n = envelope.size();
  if (n < 3) malformed("The value is too short to be an encrypted value.");
  if (p[0] != kMagic[0] || p[1] != kMagic[1])
    malformed("The value was not produced by privacy.encrypt().");
  if (p[2] != kEnvelopeFormat)
    throw Error(ss::kUnknownFormat, "unsupported encrypted value format",
                "Format version " + std::to_string(p[2]) + " is not supported; this version of "
                "pg_privacy reads format version 1.",
                "A newer pg_privacy wrote it: upgrade pg_privacy.");
  if (n < kFixedHeaderBytes) malformed("The value is truncated.");
  Parsed out;
  if (p[3] != static_cast<unsigned char>(KeyKind::kTenant) &&
      p[3] != static_cast<unsigned char>(KeyKind::kSubject))
    malformed("The key kind is unknown.");
  out.header.kind = static_cast<KeyKind>(p[3]);
  out.header.key_version = get_be32(p + 4);
  if (out.header.key_version == 0) malformed("The key version is 0.");
  out.header_bytes = kFixedHeaderBytes;
  if (out.header.kind == KeyKind::kSubject) {
    if (n <= kFixedHeaderBytes) malformed("The value is truncated.");
    const std::size_t ref_len = p[kFixedHeaderBytes];
    if (ref_len == 0 || ref_len > kMaxSubjectRefBytes)
      malformed("The subject key reference has an invalid length.");
    out.header_bytes += 1 + ref_len;
    if (n < out.header_bytes) malformed("The value is truncated.");
    out.header.subject_ref.assign(envelope.substr(kFixedHeaderBytes + 1, ref_len));
  }
  if (n < out.header_bytes + kTrailerBytes) malformed("The value is truncated.");
  return out;
}

}  // namespace

EnvelopeHeader parse_envelope_header(std::string_view envelope) {
  return parse(envelope).header;
}

std::size_t envelope_size(const EnvelopeHeader& header, std::size_t plaintext_bytes) {
  check_header(header);
  return header_size(header) + kTrailerBytes + plaintext_bytes;
}

std::size_t envelope_plaintext_size(std::string_view envelope) {
  return envelope.size() - parse(envelope).header_bytes - kTrailerBytes;
}

void seal_envelope_into(const SecretKey& key, const EnvelopeHeader& header,
                        const EnvelopeOwner& owner, std::string_view plaintext,
                        std::span<char> out) {
  check_owner(header.kind, owner);
  if (out.size() != envelope_size(header, plaintext.size()))
    throw Error(sqlstate::kInternal, "envelope buffer has the wrong size");
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = kMagic[0];
  p[1] = kMagic[1];
  p[2] = kEnvelopeFormat;
  p[3] = static_cast<unsigned char>(header.kind);
  put_be32(p + 4, header.key_version);
  std::size_t h = kFixedHeaderBytes;
  if (header.kind == KeyKind::kSubject) {
    p[h++] = static_cast<unsigned char>(header.subject_ref.size());
    std::memcpy(p + h, header.subject_ref.data(), header.subject_ref.size());
    h += header.subject_ref.size();
  }
  const std::string aad = associated_data({out.data(), h}, header.kind, owner);
  unsigned char* nonce = p + h;
  gcm_random_nonce(nonce);
  gcm_seal(key, nonce, aad, plaintext, nonce + kGcmNonceBytes,
           nonce + kGcmNonceBytes + plaintext.size());
}

std::string seal_envelope(const SecretKey& key, const EnvelopeHeader& header,
                          const EnvelopeOwner& owner, std::string_view plaintext) {
  std::string out(envelope_size(header, plaintext.size()), '\0');
  seal_envelope_into(key, header, owner, plaintext, out);
  return out;
}

void open_envelope_into(const SecretKey& key, const EnvelopeOwner& owner,
                        std::string_view envelope, std::span<char> out) {
  const Parsed parsed = parse(envelope);
  check_owner(parsed.header.kind, owner);
  const std::size_t n = envelope.size() - parsed.header_bytes - kTrailerBytes;
  if (out.size() != n) throw Error(sqlstate::kInternal, "plaintext buffer has the wrong size");
  const std::string aad =
      associated_data(envelope.substr(0, parsed.header_bytes), parsed.header.kind, owner);
  const auto* nonce = reinterpret_cast<const unsigned char*>(envelope.data()) + parsed.header_bytes;
  if (!gcm_open(key, nonce, aad, envelope.substr(parsed.header_bytes + kGcmNonceBytes, n),
                nonce + kGcmNonceBytes + n, reinterpret_cast<unsigned char*>(out.data())))
    throw Error(ss::kAuthFailed, "encrypted value failed authentication",
                "The value was changed, belongs to another tenant or subject, or was sealed "
                "with another key.");
}

std::string open_envelope(const SecretKey& key, const EnvelopeOwner& owner,
                          std::string_view envelope) {
  std::string out(envelope_plaintext_size(envelope), '\0');
  open_envelope_into(key, owner, envelope, out);
  return out;
}

}  // namespace pgp::core::crypto
