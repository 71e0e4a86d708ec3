#!/usr/bin/env bash
# scripts/get-kernel.sh [OUTDIR] - fetch Debian's unmodified stock kernel
# (the one linux-image-amd64 currently depends on) with apt and store its
# bzImage as OUTDIR/vmlinuz (default out/linux), with OUTDIR/VERSION saying
# which package it came from, and the package's modules tree as
# OUTDIR/modules/RELEASE (tools/mkdom0 takes dom0's modules from there; dpkg -x,
# no root needed).
#
# apt verifies the .deb against the signed archive indexes; nothing else is
# downloaded. The script is idempotent: when OUTDIR/vmlinuz exists, matches
# the checksum in OUTDIR/VERSION and is the package apt would pick now, it
# does nothing. Without network it keeps an existing kernel rather than fail.
#
# Environment:
#   KERNEL_PKG   binary package to use instead of resolving linux-image-amd64,
#                e.g. linux-image-6.1.0-56-amd64 (apt's candidate version)
#   NO_UPDATE=1  never run apt-get update
#
# The result: OUTDIR/vmlinuz (a bzImage; tools/mkdomu -vmlinux extracts the
# ELF kernel from it), OUTDIR/VERSION (key=value lines: package, version,
# kernel release, sha256 of vmlinuz) and OUTDIR/modules/RELEASE (the
# package's lib/modules/RELEASE: kernel/..., modules.order, modules.builtin;
# Debian ships no modules.dep, depmod makes it at install time).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
outdir=${1:-out/linux}
meta_pkg=linux-image-amd64
export DEBIAN_FRONTEND=noninteractive

log() { echo "get-kernel: $*"; }
die() {
	echo "get-kernel: error: $*" >&2
	exit 1
}

sudo=()
((EUID == 0)) || sudo=(sudo)

for tool in apt-get apt-cache dpkg dpkg-deb sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found: this script needs a Debian-based system"
done

updated=0
apt_update() {
	if [[ ${NO_UPDATE:-} == 1 ]]; then
		return 1
	fi
	log "running apt-get update"
	"${sudo[@]}" apt-get update -qq || return 1
	updated=1
}

# candidate PKG: apt's candidate version of PKG, empty if none.
candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '^(none)$' || true
}

# resolve: set pkg and ver to the kernel package apt would download now.
resolve() {
	pkg=${KERNEL_PKG:-}
	if [[ -z $pkg ]]; then
		local cand
		cand=$(candidate "$meta_pkg")
		[[ -n $cand ]] || return 1
		# The first hard dependency named linux-image-*: e.g.
		# "Depends: linux-image-6.1.0-56-amd64".
		pkg=$(apt-cache depends "$meta_pkg=$cand" 2>/dev/null |
			sed -n 's/^ *|\{0,1\}Depends: *\(linux-image-[^ <>]*\).*/\1/p' | head -n 1)
		[[ -n $pkg ]] || return 1
	fi
	ver=$(candidate "$pkg")
	[[ -n $ver ]]
}

# field KEY: the value of KEY in OUTDIR/VERSION.
field() {
	sed -n "s/^$1=//p" "$outdir/VERSION" 2>/dev/null | head -n 1
}

have_valid() {
	[[ -f $outdir/vmlinuz && -f $outdir/VERSION ]] || return 1
	# The modules of the same package (older runs kept only vmlinuz).
	[[ -n $(field release) && -f $outdir/modules/$(field release)/modules.order ]] || return 1
	local sum
	sum=$(sha256sum "$outdir/vmlinuz" | cut -d' ' -f1)
	[[ $sum == "$(field sha256)" ]]
}

if ! resolve; then
	apt_update || true
	if ! resolve; then
		if have_valid && [[ -z ${KERNEL_PKG:-} || ${KERNEL_PKG:-} == "$(field package)" ]]; then
			log "cannot resolve ${KERNEL_PKG:-$meta_pkg} with apt (offline?); keeping $outdir/vmlinuz from $(field package) $(field version)"
			exit 0
		fi
		die "apt knows no candidate for ${KERNEL_PKG:-$meta_pkg}; is deb.debian.org in the sources and reachable?"
	fi
fi
if [[ -n ${KERNEL_PKG:-} ]]; then
	log "KERNEL_PKG: $pkg $ver"
else
	log "$meta_pkg -> $pkg $ver"
fi

if have_valid && [[ $(field package) == "$pkg" && $(field version) == "$ver" ]]; then
	log "up to date: $outdir/vmlinuz is $pkg $ver (sha256 $(field sha256))"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt's download sandbox user (_apt) must be able to write the directory;
# as root, a mktemp directory is 0700, so run the download as root instead.
apt_opts=()
if ((EUID == 0)); then
	apt_opts=(-o APT::Sandbox::User=root)
fi
download() {
	(cd "$tmp" && apt-get "${apt_opts[@]}" download -q "$pkg=$ver")
}
log "downloading $pkg=$ver"
if ! download; then
	# Stale indexes point at files the archive has since removed.
	((updated)) || apt_update || die "apt-get download $pkg=$ver failed"
	resolve || die "apt knows no candidate for $pkg after apt-get update"
	log "retrying: $pkg=$ver"
	download || die "apt-get download $pkg=$ver failed"
fi
deb=$(ls "$tmp"/*.deb)
log "downloaded $(basename "$deb") ($(du -h "$deb" | cut -f1))"

dpkg -x "$deb" "$tmp/root"
shopt -s nullglob
kernels=("$tmp"/root/boot/vmlinuz-*)
((${#kernels[@]} == 1)) || die "expected one boot/vmlinuz-* in $(basename "$deb"), found ${#kernels[@]}"
release=${kernels[0]##*/vmlinuz-}

mods=$tmp/root/lib/modules/$release
[[ -f $mods/modules.order && -d $mods/kernel ]] || die "$(basename "$deb") has no lib/modules/$release tree"

mkdir -p "$outdir"
# The modules first: have_valid needs both, and a new vmlinuz with an old
# modules tree would give dom0 modules its kernel refuses.
rm -rf "$outdir/modules"
mkdir -p "$outdir/modules"
mv "$mods" "$outdir/modules/$release"
install -m 0644 "${kernels[0]}" "$outdir/vmlinuz.tmp"
mv -f "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
sum=$(sha256sum "$outdir/vmlinuz" | cut -d' ' -f1)
cat >"$outdir/VERSION.tmp" <<EOF
package=$pkg
version=$ver
release=$release
sha256=$sum
EOF
mv -f "$outdir/VERSION.tmp" "$outdir/VERSION"
# Anything derived from an older kernel is stale now.
rm -f "$outdir/vmlinux"
log "wrote $outdir/vmlinuz ($(du -h "$outdir/vmlinuz" | cut -f1), Linux $release from $pkg $ver, sha256 $sum)"
log "wrote $outdir/modules/$release ($(du -sh "$outdir/modules/$release" | cut -f1))"
