#!/usr/bin/env bash
# Lays out the container image's files in DEST: builds the hiring binary into
# DEST/usr/local/bin/hiring, then adds what container/runtime-files.txt lists.
# The Dockerfile's build stage runs it, and so does container_test.go before
# it builds the Dockerfile's last stage with buildah. Run it as root: it sets
# the owners that the list names.
# Usage: container/rootfs.sh DEST
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
dest="$1"
list="$here/runtime-files.txt"

mkdir -p "$dest/usr/local/bin"
# -s -w: no symbol table nor DWARF, a third of the binary.
CGO_ENABLED=1 go -C "$here/.." build -ldflags='-s -w' -o "$dest/usr/local/bin/hiring" ./cmd/hiring

# What the binary needs, as ldd resolves it on this system: NAME PATH lines,
# the loader's marked by a leading '*'.
needed="$(ldd "$dest/usr/local/bin/hiring" | awk '
  $2 == "=>" && $3 ~ /^\// { n = split($3, p, "/"); print p[n], $3; next }
  $1 ~ /^\// { n = split($1, p, "/"); print "*" p[n], $1 }')"
if [[ -z "$needed" ]]; then
  echo "$0: ldd names no library of the hiring binary; is it linked with cgo?" >&2
  exit 1
fi

copy() { # copies the file at $1 (a symbolic link is followed) to DEST$1
  mkdir -p "$dest$(dirname "$1")"
  cp -L "$1" "$dest$1"
}

listed=()
loader_found=0
lineno=0
while read -r line; do
  lineno=$((lineno + 1))
  [[ -z $line || $line == \#* ]] && continue
  read -r -a f <<<"$line"
  where="$list:$lineno"
  want=2
  [[ ${f[0]} == dir ]] && want=4
  if [[ ${#f[@]} -ne $want ]]; then
    echo "$where: want lib NAME, loader NAME, file PATH or dir PATH MODE UID:GID" >&2
    exit 1
  fi
  case "${f[0]}" in
    lib)
      path="$(awk -v n="${f[1]}" '$1 == n { print $2 }' <<<"$needed")"
      if [[ -z $path ]]; then
        echo "$where: the hiring binary no longer needs ${f[1]}; remove it from the list" >&2
        exit 1
      fi
      copy "$path"
      listed+=("${f[1]}")
      ;;
    loader)
      path="$(awk -v n="*${f[1]}" '$1 == n { print $2 }' <<<"$needed")"
      listed+=("*${f[1]}")
      if [[ -n $path ]]; then
        copy "$path"
        loader_found=1
      fi
      ;;
    file)
      install -D -m 0644 "$here/${f[1]}" "$dest/${f[1]}"
      ;;
    dir)
      install -d -m "${f[2]}" -o "${f[3]%%:*}" -g "${f[3]##*:}" "$dest/${f[1]}"
      ;;
    *)
      echo "$where: unknown entry ${f[0]}; want lib, loader, file or dir" >&2
      exit 1
      ;;
  esac
done <"$list"

while read -r name path; do
  if [[ " ${listed[*]} " != *" $name "* ]]; then
    echo "$list: the hiring binary needs ${name#\*} ($path), which is not listed" >&2
    exit 1
  fi
done <<<"$needed"
if ((!loader_found)); then
  echo "$list: no listed loader is the one ldd names" >&2
  exit 1
fi
