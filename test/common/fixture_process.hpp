// Starts the loopback provider fixture (test/fixtures/provider_fixture.cpp) as a child process
// for a test suite or a benchmark, and talks to its control endpoints.
#pragma once

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgp::test {

class FixtureProcess {
 public:
  explicit FixtureProcess(std::vector<std::string> args = {}) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    args.insert(args.begin(), PGP_PROVIDER_FIXTURE);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // a crashed test leaves no server behind
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    // The first line on stdout is the port: the server listens once it is printed.
    FILE* f = fdopen(out[0], "r");
    if (!f || std::fscanf(f, "%d", &port_) != 1) {
      if (f) std::fclose(f);
      stop();
      throw std::runtime_error("the provider fixture did not start");
    }
    std::fclose(f);
  }
  ~FixtureProcess() { stop(); }
  FixtureProcess(const FixtureProcess&) = delete;
  FixtureProcess& operator=(const FixtureProcess&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // A control call (GET when body is empty, POST otherwise); returns the answer's body.
  std::string control(const std::string& path, const std::string& body = {}) const {
    CURL* e = curl_easy_init();
    std::string out;
    const std::string url = base_url() + path;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    if (!body.empty()) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
      static_cast<std::string*>(u)->append(d, s * n);
      return s * n;
    });
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
    const CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK) throw std::runtime_error("fixture control call failed");
    return out;
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace pgp::test
