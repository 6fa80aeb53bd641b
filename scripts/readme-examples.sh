#!/usr/bin/env bash
# Runs the README's examples against a fresh local stack: starts `hiring dev`
# on the README's ports, runs every curl, gcloud storage, bq and hiring
# command of the README, and fails if one fails or answers with an error.
# gcloud and bq (google-cloud-cli) must be on the PATH.
# Usage: scripts/readme-examples.sh [HIRING_BINARY]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
hiring="${1:-}"
if [[ -z "$hiring" ]]; then
  hiring="$(mktemp -d)/hiring"
  (cd "$root" && go build -o "$hiring" ./cmd/hiring)
fi

log="$(mktemp)"
"$hiring" dev --demo --demo-rows 1000 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  if curl -sf http://127.0.0.1:8080/healthz >/dev/null; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "hiring dev exited early:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done

for _ in $(seq 1 120); do
  grep -q "Press Ctrl+C to stop" "$log" && break
  sleep 0.5
done
report="http://127.0.0.1:8080/metrics/report?year=2021"
if ! grep -qF "Open the report in a browser: $report" "$log"; then
  echo "hiring dev --demo did not print the report's URL $report:" >&2
  cat "$log" >&2
  exit 1
fi
# The whole page is read before it is searched: under pipefail, grep -q
# leaving early would make curl fail on a closed pipe.
page="$(curl -sf "$report")" || { echo "no report at $report" >&2; exit 1; }
[[ "$page" == *"<title>Hiring report 2021</title>"* ]] || { echo "$report is not the 2021 report" >&2; exit 1; }

# Every curl, `gcloud storage`, bq and `go run ./cmd/hiring ...` command (but
# dev, which starts a stack, except dev --print-env) in the README's sh
# blocks, joined with its continuation lines, in the README's order; hiring
# runs as the built binary.
commands=()
cmd=""
inblock=0
while IFS= read -r line; do
  if [[ $line == '```sh'* ]]; then inblock=1; continue; fi
  if [[ $line == '```'* ]]; then inblock=0; continue; fi
  ((inblock)) || continue
  if [[ -n $cmd || $line == curl\ * || $line == "gcloud storage "* || $line == bq\ * ||
    $line == 'eval "$(go run ./cmd/hiring dev --print-env'* ||
    ($line == "go run ./cmd/hiring "* && $line != "go run ./cmd/hiring dev"*) ]]; then
    if [[ $line == *\\ ]]; then
      cmd+="${line%\\} "
    else
      commands+=("$cmd$line")
      cmd=""
    fi
  fi
done <"$root/README.md"

if [[ ${#commands[@]} -eq 0 ]]; then
  echo "no examples found in README.md" >&2
  exit 1
fi
# gcloud keeps its files in a folder of this run, not in the user's cache.
export XDG_CACHE_HOME="$(mktemp -d)"
for cmd in "${commands[@]}"; do
  echo "+ $cmd"
  cmd="${cmd//go run .\/cmd\/hiring/$hiring}"
  if [[ $cmd == eval\ * ]]; then
    # The environment and the bq function it sets are for the commands
    # after it, each run in a shell of its own.
    eval "$cmd" || { echo "example failed: $cmd" >&2; exit 1; }
    export -f bq
    continue
  fi
  redirect=""
  if [[ $cmd == curl\ * ]]; then
    cmd="$cmd --fail-with-body"
  elif [[ $cmd == gcloud\ * ]]; then
    # gcloud storage cp reports on stderr.
    redirect="2>&1"
  fi
  out="$(cd "$root" && bash -c "$cmd $redirect")" || { echo "example failed: $cmd" >&2; echo "$out" >&2; exit 1; }
  if [[ -z "$out" || "$out" == *'"error"'* ]]; then
    echo "example answered with an error or nothing: $cmd" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "${out:0:300}"
done
echo "README examples: ${#commands[@]} ran"
