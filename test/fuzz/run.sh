#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) and runs each briefly; prints TAP.
# FUZZ_SECONDS (default 30) sets the run time of each target.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=build/fuzz
mkdir -p "$out"
seconds=${FUZZ_SECONDS:-30}
n=0
failed=0
for target in test/fuzz/*_fuzz.cpp; do
  name=$(basename "$target" .cpp)
  n=$((n + 1))
  if ! clang++-14 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -Isrc "$target" src/core/redact/*.cpp -lre2 -o "$out/$name" >"$out/$name.build.log" 2>&1; then
    echo "not ok $n - $name builds"; sed 's/^/# /' "$out/$name.build.log" | tail -20; failed=1; continue
  fi
  mkdir -p "$out/$name.corpus"
  # Seed with the labeled corpus' messages (one file each) when it is there.
  if [ -f ../shared/corpus/dev.jsonl ] && [ -z "$(ls -A "$out/$name.corpus")" ]; then
    command -v python3 >/dev/null || { echo "not ok $n - $name: python3 is missing (scripts/deps.sh)"; failed=1; continue; }
    python3 - "$out/$name.corpus" <<'PY'
import json, sys, os
for i, line in enumerate(open('../shared/corpus/dev.jsonl', encoding='utf-8')):
    if i >= 300: break
    with open(os.path.join(sys.argv[1], f'seed{i}'), 'w', encoding='utf-8') as f:
        f.write(json.loads(line)['text'])
PY
  fi
  if "$out/$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$out/$name.corpus" >"$out/$name.log" 2>&1; then
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$out/$name.log")
    echo "ok $n - $name: no crash in ${seconds}s (${runs:-?} inputs)"
  else
    echo "not ok $n - $name found a crash"; grep -E 'ERROR|SUMMARY|Test unit written' "$out/$name.log" | sed 's/^/# /' | head -20
    failed=1
  fi
done
echo "1..$n"
exit $failed
