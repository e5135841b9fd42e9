// The verified context as it travels from a Citus coordinator to its workers: sealed with a key
// derived from the master key every node shares, so that a client connecting to a worker cannot
// make one up, change one, or keep using one past its expiry (docs/citus.md).
#pragma once

#include "core/crypto/secret.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgp::core::tenancy {

namespace cluster_sqlstate {
inline constexpr const char* kContextRefused = "PV951";  // malformed, tampered or sealed with another key
inline constexpr const char* kContextExpired = "PV952";  // past its expiry
}  // namespace cluster_sqlstate

struct ClusterContext {
  std::int64_t expires = 0;   // unix seconds; always set
  std::string config_digest;  // the coordinator's configuration version ("" when it sent none)
  std::string tenant, subject, region;
  std::vector<std::string> roles;
};

// The sealing key: HMAC-SHA256(master key, "pg_privacy cluster context v1"). Computed once per
// master key by the caller.
crypto::SecretKey cluster_context_key(const crypto::SecretKey& master);

// base64url(payload) "." base64url(HMAC-SHA256(key, payload)); the payload's format is in
// cluster_context.cpp. Error(22023) when a field is too long (64 KiB in all).
std::string seal_cluster_context(const crypto::SecretKey& key, const ClusterContext& context);

// Checks the seal (in constant time) before reading anything, then the expiry against `now`.
// Error(PV951) for anything malformed, tampered with or sealed with another key (one error, no
// detail that tells which), Error(PV952) when expired. Never echoes the text.
ClusterContext open_cluster_context(const crypto::SecretKey& key, std::string_view text, std::int64_t now);

}  // namespace pgp::core::tenancy
