// Throughput of the redaction engine on generated chat messages (redact(), and the SQL glue's
// per-row paths), against a naive chain of RE2::GlobalReplace calls, printed as a ratio at the end.
#include "core/redact/detectors.hpp"
#include "core/redact/engine.hpp"

#include <benchmark/benchmark.h>
#include <re2/re2.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using pgp::core::redact::Engine;

// Deterministic messages of about 200 bytes: mostly ordinary chat (with numbers, times, versions
// and code), one in four carrying PII or a secret.
std::vector<std::string> make_messages(std::size_t n) {
  std::mt19937 rng(20240601);
  auto pick = [&](const std::vector<std::string>& v) -> const std::string& {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  auto num = [&](int lo, int hi) { return std::to_string(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const std::vector<std::string> clean = {
      "Can you explain why my Python script fails with a KeyError when the dictionary is empty? "
      "I'm on version 3.10.12 and the traceback points at line ",
      "Please summarise the meeting notes from Tuesday: we agreed to ship the release on Friday at "
      "10:30, and the QA team will run the regression suite before ",
      "What's the difference between a mutex and a semaphore in C++? I read that std::mutex is "
      "not recursive, but the docs for version 20 mention ",
      "Write a haiku about autumn leaves falling on a quiet lake, in the style of Basho, and then "
      "translate it to French for my class of ",
      "The build takes 14 minutes on CI but only 3 on my laptop; is it the cache? Our runners have "
      "8 cores and 16 GB of RAM, and the job count is ",
      "Translate to German: the meeting has been moved to the second floor, room 204, and lunch "
      "will be served at noon for all ",
      "How do I center a div with flexbox? I tried justify-content: center and align-items: center "
      "but it still sticks to the top of the page after ",
  };
  const std::vector<std::string> names = {"Anna", "Ravi", "Chloé", "Lukas", "Mei", "Tomás"};
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string m;
    switch (std::uniform_int_distribution<int>(0, 11)(rng)) {
      case 0:
        m = "Hi, I'm " + pick(names) + ". You can reach me at " + pick(names) + "." + num(1, 99) +
            "@example.com or call +1 (415) 555-" + num(1000, 9999) + " after 5pm, thanks for the "
            "quick help with the invoice.";
        break;
      case 1:
        m = "My card 4111 1111 1111 1111 was charged twice for order #" + num(100000, 999999) +
            ", can you refund one of the payments to IBAN GB82 WEST 1234 5698 7654 32 please?";
        break;
      case 2:
        m = "Why does this fail? export OPENAI_API_KEY=sk-proj-4f9Q2xLk8RtY7uVb3NcZ1aWq6EjHs5Dm0PoGi"
            "TfKy and then curl returns 401 from the server at 10.20." + num(0, 255) + ".7 every time.";
        break;
      default:
        m = pick(clean) + num(1, 500) + ". Thanks in advance for any pointers, " + pick(names) + "!";
        break;
    }
    out.push_back(std::move(m));
  }
  return out;
}

const std::vector<std::string>& messages() {
  static const std::vector<std::string> m = make_messages(20000);
  return m;
}

std::size_t total_bytes() {
  std::size_t b = 0;
  for (const auto& m : messages()) b += m.size();
  return b;
}

void BM_Engine(benchmark::State& state) {
  auto engine = Engine::build({});
  const auto& msgs = messages();
  for (auto _ : state)
    for (const auto& m : msgs) benchmark::DoNotOptimize(engine->redact(m));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}

// The SQL glue's per-row path before redact_into(): detect(), then apply() on its findings.
void BM_EngineDetectApply(benchmark::State& state) {
  auto engine = Engine::build({});
  const auto& msgs = messages();
  for (auto _ : state)
    for (const auto& m : msgs) benchmark::DoNotOptimize(engine->apply(m, engine->detect(m)));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}

// The same through redact_into() with the buffers kept across rows, as the glue keeps them.
void BM_EngineRedactInto(benchmark::State& state) {
  auto engine = Engine::build({});
  const auto& msgs = messages();
  const pgp::core::redact::RedactOptions opts;
  std::string out;
  std::vector<pgp::core::redact::Finding> findings;
  for (auto _ : state)
    for (const auto& m : msgs) {
      engine->redact_into(m, opts, out, &findings);
      benchmark::DoNotOptimize(out.data());
    }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}

void BM_RegexChain(benchmark::State& state) {
  // What a user writes without the engine: one regexp_replace per pattern, no validation.
  std::vector<std::unique_ptr<RE2>> chain;
  RE2::Options o;
  o.set_log_errors(false);
  for (const auto& d : pgp::core::redact::detail::builtin_defs()) chain.push_back(std::make_unique<RE2>(d.pattern, o));
  const auto& msgs = messages();
  for (auto _ : state)
    for (const auto& m : msgs) {
      std::string s = m;
      for (const auto& re : chain) RE2::GlobalReplace(&s, *re, "[REDACTED]");
      benchmark::DoNotOptimize(s);
    }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}

BENCHMARK(BM_Engine)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EngineDetectApply)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EngineRedactInto)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RegexChain)->Unit(benchmark::kMillisecond);

// Keeps the console output and remembers each benchmark's throughput for the ratio.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto it = r.counters.find("bytes_per_second");
      if (it != r.counters.end()) rate[r.benchmark_name()] = it->second.value;
    }
  }
  std::map<std::string, double> rate;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto engine = Engine::build({});
  std::printf("messages: %zu, average %.0f bytes\n", messages().size(),
              double(total_bytes()) / double(messages().size()));
  double e = reporter.rate["BM_Engine"], c = reporter.rate["BM_RegexChain"];
  if (e > 0) std::printf("engine: %.1f MB/s\n", e / 1e6);
  for (const char* per_row : {"BM_EngineDetectApply", "BM_EngineRedactInto"})
    if (reporter.rate[per_row] > 0) std::printf("%s: %.1f MB/s\n", per_row + 3, reporter.rate[per_row] / 1e6);
  if (c > 0) std::printf("regex chain: %.1f MB/s\n", c / 1e6);
  if (e > 0 && c > 0) std::printf("ratio engine/regex-chain: %.1fx\n", e / c);
  std::printf("engine memory_bytes: %zu\n", engine->memory_bytes());
  benchmark::Shutdown();
  return 0;
}
