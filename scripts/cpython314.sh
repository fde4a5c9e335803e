#!/usr/bin/env bash
# Puts CPython 3.14 into a private folder on a machine whose distribution has none (Debian
# bookworm): Debian unstable's binary packages of python3.14, with the C library and the
# libraries they were built against, unpacked (never installed: the machine's own libc stays),
# and the interpreter's ELF headers patched to load that folder's dynamic loader and libraries.
# The interpreter then runs as any other, as sys.executable for subprocesses, makes venvs with
# pip, and builds asyncio-rs (scripts/pythons.sh finds it; scripts/wheels.sh builds its wheel).
# Downloads go through apt-get with a private sources list and state (the mirror is the one
# this machine's apt uses), so the archive's signatures and each package's sha256 are checked.
# Idempotent: a second run with the prefix in place does nothing.
# Usage: scripts/cpython314.sh [PREFIX]   (default: $ASYNCIO_RS_CPYTHON314, else
#        ~/.cache/asyncio-rs/cpython3.14); then PREFIX/usr/bin/python3.14.
# Needs: apt-get, dpkg-deb, patchelf (apt-get install patchelf).
set -euo pipefail
prefix=${1:-${ASYNCIO_RS_CPYTHON314:-${XDG_CACHE_HOME:-$HOME/.cache}/asyncio-rs/cpython3.14}}
python=$prefix/usr/bin/python3.14
if [ -x "$python" ] && "$python" -c 'import ssl, sqlite3, ctypes, ensurepip, test.test_asyncio' 2>/dev/null; then
  echo "$python"
  exit 0
fi
# The prefix is replaced whole: never a folder this script did not fill.
if [ -e "$prefix" ] && [ -n "$(ls -A "$prefix")" ] && [ ! -e "$prefix/usr/bin/python3.14" ]; then
  echo "cpython314.sh: $prefix holds something else; give an empty or new folder" >&2
  exit 1
fi
command -v patchelf >/dev/null || { echo "cpython314.sh: needs patchelf (apt-get install patchelf)" >&2; exit 1; }
# The interpreter, its standard library, the test suite (test.test_asyncio), headers and
# venv's wheels; then what their Depends fields name, from the same suite.
packages=(
  python3.14-minimal libpython3.14-minimal libpython3.14-stdlib python3.14 libpython3.14
  libpython3.14-testsuite python3.14-dev libpython3.14-dev python3.14-venv
  python3-pip-whl python3-setuptools-whl
  libc6 libgcc-s1 libssl3t64 libexpat1 zlib1g libbz2-1.0 libdb5.3t64 libffi8 liblzma5
  libncursesw6 libtinfo6 libreadline8t64 libsqlite3-0 libuuid1 libzstd1
)
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\([^[:space:]]*\/debian\)[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)
[ -n "$mirror" ] || { echo "cpython314.sh: no Debian mirror in this machine's apt sources" >&2; exit 1; }

work=$prefix.download
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" >"$work/sources.list"
: >"$work/status"
apt=(
  -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$work/lists" -o Dir::State::Status="$work/status"
  -o Dir::Cache="$work/cache" -o Acquire::Languages=none -o APT::Architecture=amd64
  -o APT::Architectures::=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q
)
apt-get "${apt[@]}" update >/dev/null
(cd "$work/debs" && apt-get "${apt[@]}" download "${packages[@]}" >/dev/null)

rm -rf "$prefix.new" && mkdir -p "$prefix.new"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$prefix.new"; done
root=$prefix.new
lib=$root/usr/lib/x86_64-linux-gnu
[ -e "$lib/ld-linux-x86-64.so.2" ] || { echo "cpython314.sh: no dynamic loader in $lib" >&2; exit 1; }
# DT_RPATH (not RUNPATH): the executable's RPATH also serves the libraries that the extension
# modules of lib-dynload need when they are dlopen'd. Paths are the final prefix's.
final_lib=$prefix/usr/lib/x86_64-linux-gnu
for exe in "$root"/usr/bin/python3.14; do
  patchelf --set-interpreter "$final_lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$final_lib" "$exe"
done
# ensurepip (so venv) takes pip from the distribution's wheel folder, compiled in as /usr/...
sed -i "s|'WHEEL_PKG_DIR': '/usr/share/python-wheels/'|'WHEEL_PKG_DIR': '$prefix/usr/share/python-wheels/'|" \
  "$root"/usr/lib/python3.14/_sysconfigdata_*.py
rm -rf "$prefix" && mv "$prefix.new" "$prefix"
"$python" -c 'import ssl, sqlite3, ctypes, test.test_asyncio' || { echo "cpython314.sh: $python does not run" >&2; exit 1; }
rm -rf "$work"
echo "$python"
