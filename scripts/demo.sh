#!/usr/bin/env bash
# Builds fedrad and runs a live consortium on this machine: one coordinator
# and three hospital site agents on 127.0.0.1, talking CurveZMQ with pinned
# keys. The coordinator asks every site for its cohort size and prints the
# total. (Replaced by `fedrad demo` once the full study exists.)
#   BUILD_DIR  build directory (default: build)
#   OUT        output folder for keys, configs and logs (default: demo-out)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
out=${OUT:-demo-out}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "${JOBS:-2}" --target fedrad
fedrad="$(cd "$build_dir" && pwd)/tools/fedrad"

rm -rf "$out"
mkdir -p "$out/keys" "$out/data" "$out/logs"
out=$(cd "$out" && pwd)
sites=(hospital_a hospital_b hospital_c)
sizes=(80 75 69)

echo "== keys (fedrad keygen)"
"$fedrad" keygen --name coordinator --out "$out/keys" >/dev/null
for s in "${sites[@]}"; do "$fedrad" keygen --name "$s" --out "$out/keys" >/dev/null; done
ls -l "$out/keys"

pub() { # prints one field of a .public block
  sed -n "s/.*\"$2\": *\"\\([^\"]*\\)\".*/\\1/p" "$out/keys/$1.public"
}

echo "== configs"
{
  echo '{'
  echo '  "coordinator": {'
  echo '    "id": "coordinator",'
  echo '    "bind": "tcp://127.0.0.1:*",'
  echo '    "secret_key_file": "keys/coordinator.secret",'
  echo '    "ready_file": "coordinator.endpoint",'
  echo '    "job_timeout_s": 60'
  echo '  },'
  echo '  "log": {"level": "info", "format": "human", "file": "logs/coordinator.log"},'
  echo '  "sites": ['
  for i in "${!sites[@]}"; do
    sep=","; [ "$i" -eq $((${#sites[@]} - 1)) ] && sep=""
    sed 's/^/    /' "$out/keys/${sites[$i]}.public" | sed '$ s/$/'"$sep"'/'
  done
  echo '  ]'
  echo '}'
} >"$out/coordinator.json"

for i in "${!sites[@]}"; do
  s=${sites[$i]}
  { echo "case_id,label"; for ((k = 1; k <= sizes[i]; k++)); do echo "${s}_$k,$((k % 2))"; done; } \
    >"$out/data/$s.csv"
done

echo "== coordinator"
"$fedrad" coordinator --config "$out/coordinator.json" >"$out/summary.txt" &
coord_pid=$!
for _ in $(seq 100); do [ -s "$out/coordinator.endpoint" ] && break; sleep 0.1; done
endpoint=$(cat "$out/coordinator.endpoint")
echo "listening on $endpoint"

echo "== sites"
pids=()
for s in "${sites[@]}"; do
  cat >"$out/$s.json" <<JSON
{
  "site": {"id": "$s", "secret_key_file": "keys/$s.secret"},
  "coordinator": {"endpoint": "$endpoint", "public_key": "$(pub coordinator curve_public_key)"},
  "data": {"cohort_file": "data/$s.csv"},
  "log": {"level": "info", "file": "logs/$s.log"}
}
JSON
  "$fedrad" site --config "$out/$s.json" --exit-after-study &
  pids+=($!)
  echo "started site $s (pid $!)"
done

status=0
wait "$coord_pid" || status=$?
for p in "${pids[@]}"; do wait "$p" || status=$?; done
echo "== result"
cat "$out/summary.txt"
echo "logs: $out/logs"
exit "$status"
