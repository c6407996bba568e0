#!/usr/bin/env bash
# fetch-podman.sh: download a real podman, with the conmon, netavark and
# shared libraries it runs with, from Debian into a cache directory, and
# print the path of a wrapper that runs it. The quickstart test
# (cmd/netavark-plugin-gen/quickstart_test.go) runs the README's podman
# commands with it when the host has no podman: PODMAN=$(.ci/fetch-podman.sh)
#
#   .ci/fetch-podman.sh [CACHE-DIR]
#
# CACHE-DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/netavark-plugin-gen/podman;
# SUITE (default trixie: podman 5.4 with netavark 1.14, both with plugin
# support, and a stable suite whose package names do not move) picks the
# Debian release. apt-get runs with its own sources, lists and archives under
# CACHE-DIR and no dpkg status: the host's apt setup and installed packages are
# not touched, and nothing is installed. Needs apt-get, dpkg-deb and Debian's
# archive keyring.
#
# The packages are unpacked, not installed, so the wrapper runs podman with
# the unpacked glibc's dynamic loader, and conmon and netavark through
# wrappers of their own, found by podman through a containers.conf module
# (--module): CONTAINERS_CONF stays free for the caller. The OCI runtime is
# the host's (runc or crun): it is not fetched. Two things do not work through
# the loader, because podman re-executes itself as /proc/self/exe, which is
# the loader: commands that re-exec (podman import, rootless podman) and the
# exit command conmon runs after a detached container; `podman run --rm`
# in the foreground cleans up by itself.
set -euo pipefail

suite=${SUITE:-trixie}
base=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/netavark-plugin-gen/podman}
cache=$(mkdir -p "$base" && cd "$base" && pwd)/$suite
wrapper=$cache/podman
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
	echo "$wrapper"
	exit 0
fi

die() {
	echo "fetch-podman: $*" >&2
	exit 1
}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
for need in apt-get apt-cache dpkg-deb; do
	command -v "$need" >/dev/null || die "$need not found; install podman or set PODMAN"
done
[ -r "$keyring" ] || die "$keyring not found (apt-get install debian-archive-keyring), or install podman"
case $(uname -m) in
x86_64) triplet=x86_64-linux-gnu loader=ld-linux-x86-64.so.2 ;;
aarch64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 ;;
*) die "no recipe for $(uname -m); install podman or set PODMAN" ;;
esac

rm -rf "$cache/root" "$cache/bin"
mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/root" "$cache/bin"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" >"$cache/sources.list"
aptopts=(-qq -o Dir::Etc::SourceList="$cache/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$cache/lists" -o Dir::State::status=/dev/null
	-o Dir::Cache::Archives="$cache/archives" -o APT::Sandbox::User=root)
apt-get "${aptopts[@]}" update >&2

# The programs, containers-common for its seccomp profile, and the closure of
# their dependencies on shared-library packages (lib*, zlib1g). Other
# dependencies (gnupg, init-system-helpers, the OCI runtime) are not needed
# to run containers from a root filesystem.
want=(podman conmon netavark golang-github-containers-common)
declare -A seen=()
queue=("${want[@]}")
while [ ${#queue[@]} -gt 0 ]; do
	pkg=${queue[0]}
	queue=("${queue[@]:1}")
	[ -z "${seen[$pkg]:-}" ] || continue
	seen[$pkg]=1
	while read -r dep; do
		[ -n "$dep" ] && [ -z "${seen[$dep]:-}" ] && queue+=("$dep")
	done < <(apt-cache "${aptopts[@]}" depends --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$pkg" |
		awk '$1 ~ /^\|?(Pre)?Depends:$/ && $2 ~ /^(lib|zlib1g$)/ { print $2 }')
done
rm -f "$cache"/archives/*.deb # no stale versions beside the ones downloaded now
(cd "$cache/archives" && apt-get "${aptopts[@]}" download "${!seen[@]}" >&2)
for deb in "$cache"/archives/*.deb; do
	dpkg-deb -x "$deb" "$cache/root"
done

root=$cache/root
lib=$root/usr/lib/$triplet
for b in "$root/usr/bin/podman" "$root/usr/bin/conmon"; do
	[ -x "$b" ] || die "no ${b##*/} in the $suite packages"
done
netavark=
for b in "$root/usr/lib/podman/netavark" "$root/usr/libexec/podman/netavark"; do
	[ -x "$b" ] && netavark=$b
done
[ -n "$netavark" ] || die "no netavark in the $suite package"
for b in "$root/usr/bin/podman" "$root/usr/bin/conmon" "$netavark"; do
	if missing=$("$lib/$loader" --library-path "$lib" --list "$b" | grep 'not found'); then
		die "${b##*/} needs libraries the $suite packages do not hold: $missing"
	fi
done

# run NAME PROGRAM writes $cache/bin/NAME, which runs PROGRAM with the
# unpacked glibc. --library-path, unlike LD_LIBRARY_PATH, is not inherited:
# the runtime and plugins that these programs start use the host's libraries.
run() {
	printf '#!/bin/sh\nexec "%s/%s" --library-path "%s" "%s" "$@"\n' "$lib" "$loader" "$lib" "$2" >"$cache/bin/$1"
	chmod +x "$cache/bin/$1"
}
run conmon "$root/usr/bin/conmon"
run netavark "$netavark"
cat >"$cache/podman.conf" <<EOF
# containers.conf module of the podman in $cache/podman
[containers]
seccomp_profile = "$root/usr/share/containers/seccomp.json"

[engine]
conmon_path = ["$cache/bin/conmon"]
helper_binaries_dir = ["$cache/bin"]
EOF
printf '#!/bin/sh\n# podman from Debian %s, with its conmon and netavark\nexec "%s/%s" --library-path "%s" "%s" --module "%s" "$@"\n' \
	"$suite" "$lib" "$loader" "$lib" "$root/usr/bin/podman" "$cache/podman.conf" >"$wrapper"
chmod +x "$wrapper"
"$wrapper" --version >&2
echo "$wrapper"
