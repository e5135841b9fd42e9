// Tenant secrets in privacy.keyring_dir and the tenant key-encryption key (tenant_secret.hpp).
// A secret file is written once (link() never replaces it) and only ever deleted.
#include "core/crypto/tenant_secret.hpp"

#include "core/common.hpp"
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/hmac.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pgp::core::crypto {

namespace {

namespace ss = crypto_sqlstate;

[[noreturn]] void refused(const std::string& message, std::string detail = {}) {
  throw Error(ss::kKeyringDirRefused, message, std::move(detail),
              "privacy.keyring_dir must name a directory owned by the server's user with mode 0700.");
}

std::string errno_text(const char* what) { return std::string(what) + std::strerror(errno) + "."; }

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void fsync_dir(const std::string& dir) {
  Fd d{open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) (void)fsync(d.fd);
}

std::string path_of(const std::string& dir, std::string_view id) {
  bool ok = id.size() == 32;
  for (char c : id) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) refused("invalid tenant secret id");
  return dir + "/" + std::string(id) + ".key";
}

}  // namespace

SecretKey derive_tenant_kek(const SecretKey& master, std::string_view tenant,
                            const SecretKey* tenant_secret) {
  std::string info("pg_privacy tenant kek v1");
  info.push_back('\0');
  info.append(tenant);
  info.push_back('\0');
  if (tenant_secret) info.append(tenant_secret->view());
  Sha256Digest d = hmac_sha256(master.view(), info);
  OPENSSL_cleanse(info.data(), info.size());
  SecretKey kek = SecretKey::from_bytes({reinterpret_cast<const char*>(d.data()), d.size()});
  OPENSSL_cleanse(d.data(), d.size());
  return kek;
}

std::string new_secret_id() {
  const SecretKey r = SecretKey::random();
  static const char* digits = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < 16; ++i) {
    id.push_back(digits[r.data()[i] >> 4]);
    id.push_back(digits[r.data()[i] & 15]);
  }
  return id;
}

void check_keyring_dir(const std::string& dir) {
  struct stat st {};
  if (dir.empty() || dir[0] != '/') refused("privacy.keyring_dir is not an absolute path");
  if (stat(dir.c_str(), &st) != 0)
    refused("keyring directory is unavailable", errno_text("It cannot be examined: "));
  if (!S_ISDIR(st.st_mode)) refused("keyring directory is not a directory");
  if (st.st_uid != geteuid()) refused("keyring directory is not owned by the server's user");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    refused("keyring directory permissions are too open",
            "The directory grants access to its group or to others.");
}

std::optional<SecretKey> read_tenant_secret(const std::string& dir, std::string_view secret_id) {
  check_keyring_dir(dir);
  Fd f{open(path_of(dir, secret_id).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
  if (f.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    refused("tenant secret cannot be opened", errno_text("The file cannot be opened: "));
  }
  struct stat st {};
  if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_size != SecretKey::kBytes)
    refused("tenant secret file refused",
            "It must be a regular file of 32 bytes, owned by the server's user, mode 0600.");
  SecretBytes buf(SecretKey::kBytes);
  std::size_t used = 0;
  while (used < buf.size()) {
    const ssize_t n = read(f.fd, buf.data() + used, buf.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) refused("tenant secret cannot be read");
    used += static_cast<std::size_t>(n);
  }
  return SecretKey::from_bytes(buf.view());
}

SecretKey create_tenant_secret(const std::string& dir, std::string_view secret_id) {
  check_keyring_dir(dir);
  SecretKey fresh = SecretKey::random();
  const std::string final_path = path_of(dir, secret_id);
  std::string tmp = final_path + ".tmp." + std::to_string(getpid());
  {
    Fd f{open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
    if (f.fd < 0) refused("tenant secret cannot be created", errno_text("The file cannot be created: "));
    std::size_t done = 0;
    while (done < SecretKey::kBytes) {
      const ssize_t n = write(f.fd, fresh.data() + done, SecretKey::kBytes - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        unlink(tmp.c_str());
        refused("tenant secret cannot be written", errno_text("The file cannot be written: "));
      }
      done += static_cast<std::size_t>(n);
    }
    if (fsync(f.fd) != 0) {
      unlink(tmp.c_str());
      refused("tenant secret cannot be written", errno_text("The file cannot be synced: "));
    }
  }
  // link() never replaces an existing file: a secret, once written, is only ever deleted.
  const int rc = link(tmp.c_str(), final_path.c_str());
  const int link_errno = errno;
  unlink(tmp.c_str());
  if (rc != 0) {
    errno = link_errno;
    refused("tenant secret cannot be created", errno_text("The file cannot be linked: "));
  }
  fsync_dir(dir);
  return fresh;
}

bool destroy_tenant_secret(const std::string& dir, std::string_view secret_id) {
  check_keyring_dir(dir);
  if (unlink(path_of(dir, secret_id).c_str()) != 0) {
    if (errno == ENOENT) return false;
    refused("tenant secret cannot be deleted", errno_text("The file cannot be deleted: "));
  }
  fsync_dir(dir);
  return true;
}

bool destroy_tenant_secret_noexcept(const char* dir, const char* secret_id) noexcept {
  if (!dir || dir[0] != '/' || !secret_id) return false;
  char path[4096];
  const std::size_t dlen = std::strlen(dir), ilen = std::strlen(secret_id);
  if (ilen != 32 || dlen + 1 + ilen + 4 + 1 > sizeof path) return false;
  for (std::size_t i = 0; i < ilen; ++i)
    if (!((secret_id[i] >= '0' && secret_id[i] <= '9') || (secret_id[i] >= 'a' && secret_id[i] <= 'f'))) return false;
  std::memcpy(path, dir, dlen);
  path[dlen] = '/';
  std::memcpy(path + dlen + 1, secret_id, ilen);
  std::memcpy(path + dlen + 1 + ilen, ".key", 5);
  if (unlink(path) != 0 && errno != ENOENT) return false;
  const int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    (void)fsync(d);
    close(d);
  }
  return true;
}

}  // namespace pgp::core::crypto
