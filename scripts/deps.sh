#!/usr/bin/env bash
# Installs the Debian packages procshare needs to build and test, when they
# are missing. As root it runs apt-get; otherwise it prints the exact line.
set -euo pipefail

# systemd: systemd-analyze and systemd-socket-activate for the service tests.
# python3-pytest, python3-msgpack: the Python client and its tests.
# clang, libclang-rt-14-dev: libFuzzer for tests/fuzz; valgrind: make valgrind.
# iproute2, tcpdump: the network namespace and capture tests (tests/net).
pkgs=(gcc make pkg-config libevent-dev libmsgpack-dev libsodium-dev libcmocka-dev systemd
	python3-pytest python3-msgpack clang libclang-rt-14-dev valgrind)
pkgs+=(iproute2 tcpdump)
missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -ne 0 ]; then
	echo "procshare needs: ${missing[*]}" >&2
	echo "run as root:  apt-get update && ${cmd[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
"${cmd[@]}" >/dev/null
