#!/usr/bin/env bash
# fetch-netavark.sh: print the path of a netavark binary for the end-to-end
# tests, fetching one from Debian if the host has none.
#
#   scripts/fetch-netavark.sh [CACHE-DIR]
#
# Order: $NETAVARK, `netavark` on PATH, podman's usual paths, then a netavark
# (with plugin support: 1.14 from Debian trixie, or $SUITE) downloaded with
# the glibc it needs into CACHE-DIR (default .cache/netavark). The download
# uses apt-get with its own state under CACHE-DIR: the host's apt sources and
# installed packages are not touched. It needs apt-get, dpkg-deb and Debian's
# archive keyring (Debian and its derivatives have them).
set -euo pipefail

for cand in "${NETAVARK:-}" "$(command -v netavark || true)" \
	/usr/libexec/podman/netavark /usr/lib/podman/netavark /usr/local/libexec/podman/netavark; do
	if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" --version >/dev/null 2>&1; then
		echo "$cand"
		exit 0
	fi
done

suite=${SUITE:-trixie}
cache=$(mkdir -p "${1:-.cache/netavark}" && cd "${1:-.cache/netavark}" && pwd)/$suite
wrapper=$cache/netavark
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
	echo "$wrapper"
	exit 0
fi

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
for need in apt-get dpkg-deb; do
	command -v "$need" >/dev/null || { echo "fetch-netavark: $need not found; install netavark or set NETAVARK" >&2; exit 1; }
done
[ -r "$keyring" ] || { echo "fetch-netavark: $keyring not found (apt-get install debian-archive-keyring), or set NETAVARK" >&2; exit 1; }

mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/root"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" >"$cache/sources.list"
apt=(apt-get -qq -o Dir::Etc::SourceList="$cache/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$cache/lists" -o Dir::Cache::Archives="$cache/archives" -o APT::Sandbox::User=root)
"${apt[@]}" update >&2
(cd "$cache/archives" && "${apt[@]}" download netavark libc6 libgcc-s1 >&2)
for deb in "$cache"/archives/*.deb; do
	dpkg-deb -x "$deb" "$cache/root"
done

case $(uname -m) in
x86_64) lib=$cache/root/usr/lib/x86_64-linux-gnu loader=ld-linux-x86-64.so.2 ;;
aarch64) lib=$cache/root/usr/lib/aarch64-linux-gnu loader=ld-linux-aarch64.so.1 ;;
*) echo "fetch-netavark: no recipe for $(uname -m); install netavark or set NETAVARK" >&2; exit 1 ;;
esac
bin=
for b in "$cache/root/usr/lib/podman/netavark" "$cache/root/usr/libexec/podman/netavark"; do
	[ -x "$b" ] && bin=$b
done
[ -n "$bin" ] || { echo "fetch-netavark: no netavark binary in the $suite package" >&2; exit 1; }
# Run it with the glibc it was built for, whatever the host's is.
printf '#!/bin/sh\nexec "%s/%s" --library-path "%s" "%s" "$@"\n' "$lib" "$loader" "$lib" "$bin" >"$wrapper"
chmod +x "$wrapper"
"$wrapper" --version >&2
echo "$wrapper"
