#!/bin/sh
# package-version.sh: print the version of the .deb and .rpm packages for a
# version as `git describe --tags --always --dirty` prints it.
#
#   scripts/package-version.sh VERSION
#
# nfpm reads the package version as semver and writes a pre-release as
# ~PRE (1.2.3-rc.1 becomes 1.2.3~rc.1, which deb and rpm both sort before
# 1.2.3) and build metadata as +META (sorted after 1.2.3). A version that is
# not semver is passed through as it is, and a hyphen in it would end deb's
# upstream version, so every VERSION is made semver here:
#
#   v1.2.3                     1.2.3
#   v1.2.3-rc.1                1.2.3-rc.1               a pre-release tag
#   v1.2.3-4-gabc1234-dirty    1.2.3+4.gabc1234.dirty   4 commits after v1.2.3
#   abc1234                    0.0.0+abc1234            no tag yet
#   0.0.0-dev                  0.0.0-dev                no git at all
#
# Anything else becomes 0.0.0+VERSION, with every character that semver,
# deb or rpm would refuse turned into a dot.
set -eu

# ids turns $1 into dot-separated semver identifiers: [0-9A-Za-z] only,
# none empty.
ids() {
	printf '%s' "$1" | tr -c '0-9A-Za-z' '.' | tr -s '.' | sed 's/^\.//; s/\.$//'
}

v=${1#v}
meta=
case $v in
*-dirty)
	v=${v%-dirty}
	meta=dirty
	;;
esac
# The distance and commit that git describe appends to the tag: -N-gHASH.
since=$(expr "x$v" : 'x.*-\([0-9][0-9]*-g[0-9a-f][0-9a-f]*\)$' || true)
if [ -n "$since" ]; then
	v=${v%-"$since"}
	meta=$(ids "$since${meta:+.$meta}")
fi

core=$(expr "x$v" : 'x\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\)' || true)
if [ -z "$core" ]; then
	# No tag: git describe --always printed a commit, or VERSION is free text.
	meta=$(ids "$v${meta:+.$meta}")
	echo "0.0.0${meta:++$meta}"
	exit 0
fi
pre=$(ids "${v#"$core"}")
echo "$core${pre:+-$pre}${meta:++$meta}"
