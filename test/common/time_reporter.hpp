// The console reporter of the benchmarks that print ratios: it keeps Google Benchmark's own
// output and remembers each benchmark's real time per iteration, in the benchmark's unit.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace pgp::test {

class TimeReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Iteration) time[r.benchmark_name()] = r.GetAdjustedRealTime();
  }
  std::map<std::string, double> time;
};

}  // namespace pgp::test
