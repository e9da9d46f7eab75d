#!/bin/sh
# The image's HEALTHCHECK: GET /health with node (the image has no curl or wget); exit 0 on a 2xx answer
# within 4 s, else 1 with one line saying what came back.
# Usage: healthcheck.sh [url]    default: http://127.0.0.1:${PORT:-8080}/health
set -eu
url=${1:-http://127.0.0.1:${PORT:-8080}/health}
# The script is JavaScript: nothing in it is for the shell to expand.
# shellcheck disable=SC2016
exec node -e '
const url = process.argv[1];
fetch(url, { signal: AbortSignal.timeout(4000) }).then(
  (response) => {
    if (response.ok) process.exit(0);
    console.error(`healthcheck: ${url} answered ${response.status}`);
    process.exit(1);
  },
  (error) => {
    console.error(`healthcheck: ${url}: ${error.cause?.code ?? error.cause?.message ?? error.message}`);
    process.exit(1);
  },
);
' "$url"
