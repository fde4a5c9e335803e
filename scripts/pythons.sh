# Sourced by scripts/test.sh and scripts/wheels.sh: `pythons` prints one interpreter path per
# CPython version asyncio-rs supports (3.11 to 3.14) that this machine has, from PATH or
# from pyenv's versions (whose shims answer only for the global version).
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
    [ -n "$py" ] && echo "$py"
  done
  return 0
}
