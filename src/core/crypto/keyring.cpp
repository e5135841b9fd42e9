// Master key parsing and loading (file or command). Every buffer that held key text or key
// bytes is cleansed; no error message quotes either.
#include "core/crypto/keyring.hpp"

#include "core/common.hpp"
#include "core/crypto/base64url.hpp"
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/hmac.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>

namespace pgp::core::crypto {

namespace {

namespace ss = crypto_sqlstate;

constexpr std::size_t kHexKeyChars = 2 * SecretKey::kBytes;
constexpr std::size_t kBase64KeyChars = 44;

[[noreturn]] void unavailable(std::string detail) {
  throw Error(ss::kMasterKeyUnavailable, "master key is unavailable", std::move(detail),
              "Check privacy.keyring_file (or privacy.keyring_command); docs/crypto-format.md gives the format.");
}

[[noreturn]] void bad_key_text() {
  unavailable("The keyring must hold 32 bytes as 64 hexadecimal digits or 44 base64 "
              "characters, optionally followed by a newline.");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes straight into cleansed storage (audit::from_hex would leave an uncleansed array).
SecretKey parse_hex_key(std::string_view hex) {
  SecretBytes raw(SecretKey::kBytes);
  for (std::size_t i = 0; i < SecretKey::kBytes; ++i) {
    const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) bad_key_text();
    raw.data()[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return SecretKey::from_bytes(raw.view());
}

// Standard base64 of 32 bytes is 43 significant characters and one '='. Mapping '+' and '/' onto
// base64url's '-' and '_' lets the strict base64url decoder do the work.
SecretKey parse_base64_key(std::string_view text) {
  if (text.back() != '=') bad_key_text();
  SecretBytes url(kBase64KeyChars - 1);
  for (std::size_t i = 0; i + 1 < kBase64KeyChars; ++i) {
    const char c = text[i];
    if (c == '-' || c == '_') bad_key_text();
    url.data()[i] = static_cast<unsigned char>(c == '+' ? '-' : c == '/' ? '_' : c);
  }
  std::optional<std::string> raw = base64url_decode(url.view());
  if (!raw || raw->size() != SecretKey::kBytes) bad_key_text();
  SecretKey key = SecretKey::from_bytes(*raw);
  OPENSSL_cleanse(raw->data(), raw->size());
  return key;
}

// Reads to EOF into cleansed storage; more than kMaxKeyringBytes is refused as bad key text.
SecretBytes read_capped(int fd, const char* error_prefix) {
  SecretBytes text(kMaxKeyringBytes + 1);
  std::size_t used = 0;
  while (used < text.size()) {
    const ssize_t n = read(fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) unavailable(error_prefix + std::string(std::strerror(errno)) + ".");
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxKeyringBytes) bad_key_text();
  text.shrink(used);
  return text;
}

struct FdCloser {
  int fd;
  ~FdCloser() { close(fd); }
};

struct PipeCloser {
  void operator()(FILE* f) const noexcept { pclose(f); }
};

}  // namespace

SecretKey parse_master_key(std::string_view text) {
  if (text.ends_with("\r\n"))
    text.remove_suffix(2);
  else if (text.ends_with('\n'))
    text.remove_suffix(1);
  if (text.size() == kHexKeyChars) return parse_hex_key(text);
  if (text.size() == kBase64KeyChars) return parse_base64_key(text);
  bad_key_text();
}

void check_keyring_file_mode(std::uint32_t st_mode, std::uint32_t owner_uid,
                             std::uint32_t process_uid) {
  if (!S_ISREG(st_mode))
    throw Error(ss::kKeyringPermissions, "keyring file is not a regular file");
  if (owner_uid != process_uid)
    throw Error(ss::kKeyringPermissions, "keyring file is not owned by the server's user",
                {}, "Change its owner to the user the server runs as.");
  if ((st_mode & (S_IRWXG | S_IRWXO)) != 0)
    throw Error(ss::kKeyringPermissions, "keyring file permissions are too open",
                "The file grants access to its group or to others.",
                "Make it readable by its owner only (chmod 600 or 400).");
}

SecretKey read_keyring_file(const std::string& path) {
  // O_NONBLOCK: a FIFO must be refused by the check below, not block the open.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    unavailable(std::string("The keyring file cannot be opened: ") + std::strerror(errno) + ".");
  FdCloser closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0)
    unavailable(std::string("The keyring file cannot be examined: ") + std::strerror(errno) + ".");
  check_keyring_file_mode(st.st_mode, st.st_uid, geteuid());
  return parse_master_key(read_capped(fd, "The keyring file cannot be read: ").view());
}

SecretKey run_keyring_command(const std::string& command) {
  // A backend ignores SIGPIPE and a child inherits that: restore the default around popen (as
  // PostgreSQL's OpenPipeStream does) so a command still writing when we stop reading dies.
  struct sigaction dfl {}, saved {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &saved);
  std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "re"));
  const int popen_errno = errno;
  sigaction(SIGPIPE, &saved, nullptr);
  if (!pipe)
    unavailable(std::string("The keyring command cannot be started: ") +
                std::strerror(popen_errno) + ".");
  // read(), not fread(): stdio would leave a copy of the key text in its own buffer.
  SecretBytes text = read_capped(fileno(pipe.get()), "The keyring command's output cannot be read: ");
  // pclose closes our end first, so the command cannot block on a full pipe while we wait.
  const int status = pclose(pipe.release());
  if (status == -1) unavailable("The keyring command's exit status is unknown.");
  if (WIFSIGNALED(status))
    unavailable("The keyring command was terminated by signal " +
                std::to_string(WTERMSIG(status)) + ".");
  if (!WIFEXITED(status)) unavailable("The keyring command did not exit normally.");
  if (WEXITSTATUS(status) != 0)
    unavailable("The keyring command exited with status " + std::to_string(WEXITSTATUS(status)) +
                ".");
  return parse_master_key(text.view());
}

std::string master_key_id(const SecretKey& master) {
  return to_hex(hmac_sha256(master.view(), "pg_privacy master key id v1")).substr(0, 16);
}

}  // namespace pgp::core::crypto
