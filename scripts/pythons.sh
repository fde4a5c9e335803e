# Sourced by scripts/test.sh and scripts/wheels.sh: `pythons` prints one interpreter path per
# CPython version asyncio-rs supports (3.11 to 3.14) that this machine has, from PATH or
# from pyenv's versions (whose shims answer only for the global version), or, for 3.14, from
# the folder scripts/cpython314.sh fills (Debian unstable's packages, for a bookworm machine):
# $cpython314_prefix, which test.sh's default run leaves out (CI's machine does not make it).
cpython314_prefix=${ASYNCIO_RS_CPYTHON314:-${XDG_CACHE_HOME:-$HOME/.cache}/asyncio-rs/cpython3.14}
pythons() {
  local v py
  for v in 3.11 3.12 3.13 3.14; do
    py=""
    if "python$v" -c '' 2>/dev/null; then
      py=$(command -v "python$v")
    else
      for py in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do :; done
      [ -x "$py" ] || py=""
    fi
    if [ -z "$py" ] && [ "$v" = 3.14 ] && "$cpython314_prefix/usr/bin/python3.14" -c '' 2>/dev/null; then
      py=$cpython314_prefix/usr/bin/python3.14
    fi
    [ -n "$py" ] && echo "$py"
  done
  return 0
}
