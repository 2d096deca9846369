#!/bin/sh
# Fill a directory for `orgraph --graphiql-assets DIR` from the npm registry,
# for machines that must not load GraphiQL from a CDN.
#
#   sh tests/browser/fetch-graphiql-assets.sh [DIR]     (default: tests/browser/graphiql-assets)
#
# Installs the exact versions pinned in tests/browser/package-lock.json
# (React 18, GraphiQL 3, graphql-ws 5: the UMD builds the page loads) and
# copies them under the names src/http/graphiql.rs asks for. Nothing here is
# committed: node_modules and the assets dir are gitignored.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-"$here/graphiql-assets"}
cd "$here"
[ -d node_modules/graphiql ] || npm ci --no-audit --no-fund
mkdir -p "$dir"
cp node_modules/react/umd/react.production.min.js "$dir/react.production.min.js"
cp node_modules/react-dom/umd/react-dom.production.min.js "$dir/react-dom.production.min.js"
cp node_modules/graphiql/graphiql.min.js "$dir/graphiql.min.js"
cp node_modules/graphiql/graphiql.min.css "$dir/graphiql.min.css"
cp node_modules/graphql-ws/umd/graphql-ws.min.js "$dir/graphql-ws.min.js"
echo "GraphiQL assets in $dir:"
ls -1 "$dir"
