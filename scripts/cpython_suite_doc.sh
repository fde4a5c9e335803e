#!/usr/bin/env bash
# Writes asyncio-rs/CPYTHON_SUITE.md from the reports of the last CPython suite runs
# (target/asyncio-rs-cpython-suite-X.Y.md, written by asyncio-rs/tests/run_cpython_suite.py,
# which scripts/test.sh runs on each CPython the machine has).
set -euo pipefail
cd "$(dirname "$0")/.."
out=asyncio-rs/CPYTHON_SUITE.md
{
  echo "# CPython's test_asyncio on asyncio_rs"
  echo
  echo "Every test file of each CPython's own \`test.test_asyncio\` package but the Windows ones"
  echo "(proactor, Windows events and utilities), run by \`asyncio-rs/tests/run_cpython_suite.py\`"
  echo "as uvloop runs them: a file's event-loop classes get a subclass whose loop is"
  echo "\`asyncio_rs.EventLoop\`, every other class runs with \`asyncio_rs.EventLoopPolicy\` set."
  echo "\"ran on our loop\" counts the tests during which an \`asyncio_rs\` loop was made; the others"
  echo "test asyncio's pure-Python classes or its test loop and touch ours only through the policy."
  echo "The skips are CPython's own (their reasons are its decorators'), but for those whose"
  echo "reason names \`asyncio_rs\`: deliberate differences (the runner's DEVIATIONS). Regenerate"
  echo "with \`ASYNCIO_RS_ALL_PYTHONS=1 scripts/test.sh\` then \`scripts/cpython_suite_doc.sh\`"
  echo "(3.14 from \`scripts/cpython314.sh\` on a machine without one)."
  for report in target/asyncio-rs-cpython-suite-*.md; do
    echo
    cat "$report"
  done
} >"$out"
echo "wrote $out"
