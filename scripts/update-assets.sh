#!/bin/sh
# update-assets.sh refreshes the front-end libraries that internal/web embeds
# (htmx and Apache ECharts) from their published npm packages, at pinned
# versions, together with their licence files. The copies are committed, so
# building and testing Bulwark needs neither npm nor the network; run this
# only to change a version, then review the diff and commit it.
#
# Usage: scripts/update-assets.sh        (from the repository root; needs npm and tar)
set -eu

HTMX_VERSION=2.0.11
ECHARTS_VERSION=6.1.0

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/internal/web/static/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
# npm pack downloads the exact published tarballs without running any
# install scripts.
npm pack --silent "htmx.org@$HTMX_VERSION" "echarts@$ECHARTS_VERSION" >/dev/null
mkdir htmx echarts
tar -xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar -xzf "echarts-$ECHARTS_VERSION.tgz" -C echarts

mkdir -p "$dest"
cp htmx/package/dist/htmx.min.js "$dest/htmx.min.js"
cp htmx/package/LICENSE "$dest/htmx.LICENSE"
cp echarts/package/dist/echarts.min.js "$dest/echarts.min.js"
cp echarts/package/LICENSE "$dest/echarts.LICENSE"
cp echarts/package/NOTICE "$dest/echarts.NOTICE"

cat >"$dest/VERSIONS" <<VERSIONS
htmx.org $HTMX_VERSION (dist/htmx.min.js, LICENSE: BSD Zero Clause)
echarts $ECHARTS_VERSION (dist/echarts.min.js, LICENSE: Apache-2.0, NOTICE)
VERSIONS

(cd "$dest" && sha256sum htmx.min.js echarts.min.js >SHA256SUMS)
echo "updated $dest:"
cat "$dest/VERSIONS"
