#!/usr/bin/env bash
# compare.sh runs wrk with resolve.lua against several targets in
# alternating rounds, so that noise on a shared machine hits every target
# alike, and prints req/s and latency percentiles per run, the median per
# target and each target's throughput relative to the first one.
#
#   GREYROUTER_ADMIN_TOKEN=... tools/wrk/compare.sh [-r rounds] [-d duration] \
#     [-c connections] [-t threads] name=url [name=url ...]
#
# Defaults: 2 rounds, 10s, 50 connections, 2 threads. Only loopback URLs.
set -euo pipefail

rounds=2 duration=10s conns=50 threads=2
while getopts "r:d:c:t:" opt; do
  case $opt in
    r) rounds=$OPTARG ;; d) duration=$OPTARG ;; c) conns=$OPTARG ;; t) threads=$OPTARG ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,11p' "$0"; exit 2; }
for target in "$@"; do
  case ${target#*=} in
    http://127.0.0.1:*|http://localhost:*|http://\[::1\]:*) ;;
    *) echo "compare.sh: $target: only loopback http:// URLs" >&2; exit 2 ;;
  esac
done

script=$(dirname "$0")/resolve.lua
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# us converts a wrk latency (850.00us, 1.20ms, 2.00s) to microseconds.
us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; printf "%.0f", n * m }'; }

printf '%-20s %5s %10s %9s %9s %9s %9s\n' target round req/s p50_us p90_us p99_us non2xx
for r in $(seq "$rounds"); do
  # Alternate the order every round (ABC, CBA, ...).
  targets=("$@")
  if [ $((r % 2)) -eq 0 ]; then
    for ((i = ${#targets[@]} - 1; i >= 0; i--)); do rev+=("${targets[i]}"); done
    targets=("${rev[@]}"); unset rev
  fi
  for target in "${targets[@]}"; do
    name=${target%%=*} url=${target#*=}
    res=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$script" "$url")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$res")
    p50=$(us "$(awk '$1 == "50%" { print $2 }' <<<"$res")")
    p90=$(us "$(awk '$1 == "90%" { print $2 }' <<<"$res")")
    p99=$(us "$(awk '$1 == "99%" { print $2 }' <<<"$res")")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$res")
    errs=$(awk '/Socket errors:/ { print }' <<<"$res")
    printf '%-20s %5s %10.0f %9s %9s %9s %9s %s\n' "$name" "$r" "$rps" "$p50" "$p90" "$p99" "${bad:-0}" "$errs"
    echo "$name $rps $p99" >>"$out"
  done
done

echo
printf '%-20s %10s %9s %12s\n' target median_rps median_p99 vs_first
first=${1%%=*}
base=$(awk -v n="$first" '$1 == n { print $2 }' "$out" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
for target in "$@"; do
  name=${target%%=*}
  med=$(awk -v n="$name" '$1 == n { print $2 }' "$out" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  p99=$(awk -v n="$name" '$1 == n { print $3 }' "$out" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  awk -v n="$name" -v m="$med" -v p="$p99" -v b="$base" 'BEGIN { printf "%-20s %10.0f %9.0f %12.2f\n", n, m, p, m / b }'
done
