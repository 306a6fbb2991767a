#!/usr/bin/env bash
# Runs the gateway benchmark (bench/gateway/run.ts) sealed: inside a fresh user,
# network and PID namespace whose only network is loopback, so Portkey (which
# listens on every interface and was not written to run offline) can neither be
# reached from outside nor reach out, and every process started dies with it.
#
# Needs: `unshare` (util-linux) with unprivileged user namespaces enabled,
# `ip` (iproute2; apt-get install -y iproute2), and Node >= 22.18 first on PATH
# (it runs .ts files directly). Arguments are passed to run.ts:
#   bench/gateway/sealed.sh [--quick] [--rounds=N] [--json=FILE] [--gateway-bin=FILE]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "bench/gateway/sealed.sh: $*" >&2; exit 2; }

find_ip() {
  command -v ip 2>/dev/null && return 0
  for p in /usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip; do [ -x "$p" ] && { echo "$p"; return 0; }; done
  return 1
}

if [ "${LLM_ROUTER_BENCH_SEALED:-}" = "1" ]; then
  # Inside the namespaces: bring loopback up, then become the runner.
  "$LLM_ROUTER_BENCH_IP" link set lo up || die "could not bring up loopback inside the namespace"
  exec node "$here/run.ts" "$@"
fi

command -v unshare >/dev/null 2>&1 || die "needs 'unshare' (util-linux)"
ip_bin="$(find_ip)" || die "needs 'ip' (iproute2): apt-get install -y iproute2"
command -v node >/dev/null 2>&1 || die "needs Node >= 22.18 on PATH (e.g. export PATH=~/.node24/node_modules/.bin:\$PATH)"
node_version="$(node -p 'process.versions.node')"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)' \
  || die "needs Node >= 22.18 (runs .ts directly), found $node_version at $(command -v node); put a newer node first on PATH"
[ -f "$here/../node_modules/@portkey-ai/gateway/build/start-server.js" ] \
  || die "Portkey is not installed: bench/node_modules/@portkey-ai/gateway is missing (pnpm install)"
unshare -rn true 2>/dev/null \
  || die "'unshare -rn' failed: unprivileged user namespaces are disabled here (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces)"

export LLM_ROUTER_BENCH_SEALED=1 LLM_ROUTER_BENCH_IP="$ip_bin"
# -r: map us to root in a new user namespace (needed for -n without privileges); -n: new network
# namespace (loopback only, down); --pid --fork --kill-child: everything started dies with the runner;
# --mount-proc: a /proc of the new PID namespace, so the runner can read its children's CPU time.
exec unshare -rn --pid --fork --kill-child --mount-proc bash "${BASH_SOURCE[0]}" "$@"
