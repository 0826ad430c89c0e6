#!/usr/bin/env bash
# Federated study over ZeroMQ on loopback vs the pooled fit (issue 4, item 6):
# writes the study of bench/study_bench.cpp as files (4 site tables, a pooled
# table, the feature dictionary and the spec), starts one `fedrad site`
# process per site and a `fedrad coordinator` running the study job over
# CurveZMQ on 127.0.0.1, then runs `fedrad fit --pooled` on the same rows, and
# prints both wall times, their ratio, the rounds and the bytes per site.
#
#   bench/run_study_wire_bench.sh [BUILD_DIR] [--quick] [--plain]
#
# By default the federated run uses secure aggregation (the study default;
# the spec lists the four sites with their signing keys); --plain turns it
# off to measure the transport alone. The sites approve the spec; their
# policy lowers the count minimums to 1 because the bench's random folds
# are small (a bench setting, not a disclosure recommendation).
#
# Both runs use the same outer folds (the tables' fold column); inner folds are
# assigned by each site over its own rows, so the federated and pooled nested
# CV differ slightly in their inner splits (the timing comparison is the
# point here; tests/integration/study_test.cpp checks equality).
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${src_dir}/../build-bench"
quick=()
plain=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick); shift ;;
    --plain) plain=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build_dir="$1"; shift ;;
  esac
done

echo "== build (${build_dir})"
cmake -S "${src_dir}" -B "${build_dir}" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "${build_dir}" -j"$(nproc 2>/dev/null || echo 2)" \
  --target fedrad fedrad_bench_study > /dev/null
fedrad="${build_dir}/tools/fedrad"

work="$(mktemp -d /tmp/fedrad-study-wire.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "== data and keys (${work})"
"${build_dir}/bench/fedrad_bench_study" "${quick[@]}" --write-data "${work}"
sites=(site_0 site_1 site_2 site_3)
for party in coordinator "${sites[@]}"; do
  "${fedrad}" keygen --name "${party}" --out "${work}/keys" > /dev/null
done
port=$((20000 + RANDOM % 20000))

python3 - "${work}" "${plain}" "${sites[@]}" <<'EOF'
import json, sys
work, plain, sites = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
spec = json.load(open(f"{work}/study.json"))
spec["sites"] = [{"id": s, "role": "train",
                  "sign_public_key": json.load(open(f"{work}/keys/{s}.public"))["sign_public_key"]}
                 for s in sites]
spec["privacy"] = {"secure_aggregation": not plain}
json.dump(spec, open(f"{work}/study.json", "w"), indent=2)
EOF
"${fedrad}" site approve "${work}/study.json" --policy "${work}/policy.json" --by bench > /dev/null
python3 - "${work}/policy.json" <<'EOF'
import json, sys
policy = json.load(open(sys.argv[1]))
policy["min_count_per_cell"] = 1
policy["min_cohort_size"] = 1
json.dump(policy, open(sys.argv[1], "w"), indent=2)
EOF

python3 - "${work}" "${port}" "${sites[@]}" <<'EOF'
import json, sys
work, port, sites = sys.argv[1], sys.argv[2], sys.argv[3:]
def public(name):
    return json.load(open(f"{work}/keys/{name}.public"))
log = lambda f: {"level": "warn", "format": "human", "file": f}
coordinator = {
    "coordinator": {"id": "coordinator", "bind": f"tcp://127.0.0.1:{port}",
                    "secret_key_file": f"{work}/keys/coordinator.secret",
                    "expected_sites": len(sites), "job": "study", "job_timeout_s": 3600},
    "study": {"spec": f"{work}/study.json", "out_dir": f"{work}/out_federated",
              "round_timeout_s": 600},
    "log": log(f"{work}/coordinator.log"),
    "sites": [{"id": s, "curve_public_key": public(s)["curve_public_key"],
               "sign_public_key": public(s)["sign_public_key"]} for s in sites],
}
json.dump(coordinator, open(f"{work}/coordinator.json", "w"), indent=2)
for s in sites:
    site = {
        "site": {"id": s, "secret_key_file": f"{work}/keys/{s}.secret"},
        "coordinator": {"endpoint": f"tcp://127.0.0.1:{port}",
                        "public_key": public("coordinator")["curve_public_key"]},
        "study": {"spec": f"{work}/study.json", "features": f"{work}/{s}.csv"},
        "log": log(f"{work}/{s}.log"),
    }
    json.dump(site, open(f"{work}/{s}.json", "w"), indent=2)
EOF

echo "== federated: coordinator + ${#sites[@]} site processes over CurveZMQ on 127.0.0.1:${port}"
for s in "${sites[@]}"; do
  /usr/bin/time -f "${s}: %e s wall, %U s user, %S s sys, %M KiB max RSS" -o "${work}/${s}.time" \
    "${fedrad}" site --config "${work}/${s}.json" --exit-after-study &
  pids+=($!)
done
start=$(date +%s.%N)
/usr/bin/time -f "coordinator: %e s wall, %U s user, %S s sys, %M KiB max RSS" \
  -o "${work}/coordinator.time" \
  "${fedrad}" coordinator --config "${work}/coordinator.json" > "${work}/coordinator.out"
end=$(date +%s.%N)
federated_s=$(echo "${end} - ${start}" | bc -l)
wait "${pids[@]}" 2>/dev/null || true
pids=()

echo "== pooled: fedrad fit --pooled on the same rows"
start=$(date +%s.%N)
/usr/bin/time -f "pooled: %e s wall, %U s user, %S s sys, %M KiB max RSS" -o "${work}/pooled.time" \
  "${fedrad}" fit --pooled "${work}/pooled.csv" --spec "${work}/study.json" \
  --out "${work}/out_pooled" > "${work}/pooled.out"
end=$(date +%s.%N)
pooled_s=$(echo "${end} - ${start}" | bc -l)

python3 - "${work}" "${federated_s}" "${pooled_s}" <<'EOF'
import json, sys
work, fed_s, pooled_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
fed = json.load(open(f"{work}/out_federated/study.json"))
pooled = json.load(open(f"{work}/out_pooled/study.json"))
print("== summary")
print(f"federated over ZeroMQ (4 site processes): {fed_s:.2f} s wall (coordinator process), "
      f"{fed['rounds']} rounds, {fed['bytes_to_each_site'] / 2**20:.1f} MiB to and "
      f"{fed['bytes_from_each_site'] / 2**20:.1f} MiB from each site")
print(f"pooled (fedrad fit --pooled): {pooled_s:.2f} s wall, {pooled['rounds']} rounds")
print(f"ratio federated / pooled: {fed_s / pooled_s:.2f} (target <= 3)")
for a, b in zip(fed["models"], pooled["models"]):
    print(f"  {a['name']:9s} federated: {a['selected']:3d} selected, CV AUC {a['cv_auc']:.4f}; "
          f"pooled: {b['selected']:3d} selected, CV AUC {b['cv_auc']:.4f}")
EOF
echo "== CPU and memory per process (secure aggregation: $([[ ${plain} == 1 ]] && echo off || echo on))"
sleep 0.2
cat "${work}"/*.time
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
