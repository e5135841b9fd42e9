// SQLSTATEs of the encryption core (class PV7xx): envelopes, the keyring and wrapped keys.
// Keep in sync with docs/sqlstates.md; messages under these codes never carry data or keys.
#pragma once

namespace pgp::core::crypto::crypto_sqlstate {

inline constexpr const char* kMalformedEnvelope = "PV701";  // truncated, bad magic/kind/length
inline constexpr const char* kUnknownFormat = "PV702";      // envelope format version unknown
// Tampered, wrong key, wrong tenant or subject: one code on purpose, so that a caller cannot
// tell which of them failed (that would be an oracle for probing other tenants' data).
inline constexpr const char* kAuthFailed = "PV703";
inline constexpr const char* kKeyDestroyed = "PV704";       // raised by the SQL layer (shredded)
inline constexpr const char* kMasterKeyUnavailable = "PV705";  // unreadable, command failed, bad text
inline constexpr const char* kKeyringPermissions = "PV706";    // keyring file open to others
inline constexpr const char* kWrappedKeyRefused = "PV707";     // malformed, or not this master key
inline constexpr const char* kKeyNotFound = "PV708";        // raised by the SQL layer (no such version)
inline constexpr const char* kKeyringDirRefused = "PV709";  // privacy.keyring_dir unusable
inline constexpr const char* kValueTooLarge = "54000";      // program_limit_exceeded

}  // namespace pgp::core::crypto::crypto_sqlstate
