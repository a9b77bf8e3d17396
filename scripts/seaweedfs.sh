#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (a distributed file system with an S3 gateway)
# into .cache/bin/weed, once: the object-storage tests start a real
# `weed server -s3` with it. `go install` refuses the module for its
# replace directives, so its source is fetched with `go mod download` and
# built in a copy. The first build takes minutes; later ones reuse Go's
# build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v0.0.0-20261109003541-7506e5f91cd6
BIN="$PWD/.cache/bin"
if [ -x "$BIN/weed" ] && [ "$(cat "$BIN/weed.version" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
mkdir -p "$BIN"
dir=$(GOFLAGS= go mod download -json "github.com/seaweedfs/seaweedfs@$VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
(cd "$work" && GOFLAGS= CGO_ENABLED=0 go build -o "$BIN/weed" ./weed)
echo "$VERSION" > "$BIN/weed.version"
