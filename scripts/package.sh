#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `npm run package`: the exporter for compute nodes without Kubernetes, into dist/pkg/:
#   libvirt-exporter                          single executable, linux-x64 (esbuild bundle in a Node.js
#                                             single executable application, postject)
#   libvirt-exporter_VERSION_amd64.deb        executable, hardened systemd unit, conffile, dashboards, rules
#   libvirt-exporter-VERSION-1.x86_64.rpm     the same tree (when rpmbuild is installed: apt install rpm)
#   libvirt-exporter-VERSION-linux-x64.tar.gz executable, unit, example configuration, licences, SHA256SUMS
#   SHA256SUMS, SIZES.md                      checksums of the above; their sizes, measured here
#   sh scripts/package.sh [--docs]           --docs also writes the sizes into docs/install.md and README.md
# Runs on the supported Node.js (scripts/node.sh), which is the one embedded in the executable.
set -eu
cd "$(dirname "$0")/.."
docs=0
[ "${1:-}" = --docs ] && docs=1
t0=$(date +%s)
PATH="$(sh scripts/node.sh):$PATH"
export PATH
[ -d node_modules ] || npm ci --no-audit --no-fund
name=libvirt-exporter
version=$(node -p 'require("./package.json").version')
LIBVIRT_EXPORTER_REVISION=${LIBVIRT_EXPORTER_REVISION:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
export LIBVIRT_EXPORTER_REVISION
out=$PWD/dist/pkg
work=$PWD/dist/pkg-build
rm -rf "$out" "$work"
mkdir -p "$out" "$work"
step() { echo "package: $* ($(($(date +%s) - t0)) s)" >&2; }

# 1. The bundle, then the single executable: Node.js's own binary with the bundle injected.
node --import tsx scripts/bundle.ts "$work/bundle" >&2
# execArgv: Node.js options of the executable (DAEMON_NODE_OPTIONS of src/heap.ts: --single-threaded, which
# V8 reads before any script runs and NODE_OPTIONS refuses).
cat >"$work/sea.json" <<JSON
{ "main": "$work/bundle/$name.cjs", "output": "$work/sea.blob",
  "disableExperimentalSEAWarning": true, "useCodeCache": true,
  "execArgv": ["--single-threaded"] }
JSON
# The code cache is made by this node run: with the same options as execArgv, or V8 rejects it at each
# start (its flags differ) and prints "Code cache data rejected".
node --single-threaded --experimental-sea-config "$work/sea.json" >&2
exe=$work/$name
cp "$(command -v node)" "$exe"
chmod u+w "$exe"
# (postject's ELF parser warns about Node's unnamed note sections; harmless.)
node node_modules/postject/dist/cli.js "$exe" NODE_SEA_BLOB "$work/sea.blob" \
	--sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >"$work/postject.log" 2>&1 ||
	{ cat "$work/postject.log" >&2; exit 1; }
chmod 0755 "$exe"
got=$(env -i "$exe" --version)
case $got in "$name $version "*) ;; *) echo "package: the executable says '$got'" >&2; exit 1 ;; esac
cp "$exe" "$out/$name"
step "single executable: $got"

# 2. The installed tree, shared by the .deb and the .rpm.
stage=$work/root
install -D -m 0755 "$exe" "$stage/usr/bin/$name"
install -D -m 0644 packaging/$name.service "$stage/usr/lib/systemd/system/$name.service"
install -D -m 0644 packaging/sysusers.conf "$stage/usr/lib/sysusers.d/$name.conf"
install -D -m 0640 examples/config.yaml "$stage/etc/$name/config.yaml"
chmod 0750 "$stage/etc/$name"
for f in dashboards/*.json rules/*.yml; do install -D -m 0644 "$f" "$stage/usr/share/$name/$f"; done
doc=$stage/usr/share/doc/$name
install -D -m 0644 LICENSE "$doc/LICENSE"
install -D -m 0644 "$work/bundle/THIRD-PARTY-LICENSES.txt" "$doc/THIRD-PARTY-LICENSES.txt"
install -D -m 0644 "$(dirname "$(command -v node)")/../LICENSE" "$doc/NODEJS-LICENSE"
install -D -m 0644 docs/install.md "$doc/install.md"
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: $name"
	echo
	echo "Files: *"
	echo "License: Apache-2.0"
	echo " The full text is in /usr/share/doc/$name/LICENSE. The executable embeds Node.js"
	echo " (NODEJS-LICENSE) and the npm packages listed in THIRD-PARTY-LICENSES.txt."
} >"$doc/copyright"
find "$stage" -exec touch -h -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)" {} +

# 3. The .deb (gzip: fast to build, and every dpkg reads it).
deb=$work/deb
mkdir -p "$deb"
cp -a "$stage/." "$deb/"
mkdir -p "$deb/DEBIAN"
# The maintainer: the project's first commit author (the Helm chart names the same "authors").
maintainer=$(git log --reverse --format='libvirt-exporter authors <%ae>' 2>/dev/null | head -1)
sed -e "s/@VERSION@/$version/" -e "s|@MAINTAINER@|${maintainer:-libvirt-exporter authors <root@localhost>}|" -e "s/@INSTALLED_SIZE@/$(du -sk "$stage" | cut -f1)/" \
	-e "/^Homepage: @HOMEPAGE@$/d" packaging/deb/control >"$deb/DEBIAN/control"
echo "/etc/$name/config.yaml" >"$deb/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "packaging/deb/$s" "$deb/DEBIAN/$s"; done
debfile=${name}_${version}_amd64.deb
dpkg-deb --root-owner-group -Zgzip -z6 --build "$deb" "$out/$debfile" >&2
step "$debfile"

# 4. The .rpm, from the same tree, when Debian's rpm tools are here.
rpmfile=''
if command -v rpmbuild >/dev/null; then
	rpmbuild -bb --quiet --define "_topdir $work/rpm" --define "stage $stage" \
		--define "pkgversion $version" --define "_binary_payload w6.gzdio" \
		--define "_rpmfilename %{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm" \
		packaging/rpm/$name.spec >&2
	rpmfile=$name-$version-1.x86_64.rpm
	cp "$work/rpm/RPMS/$rpmfile" "$out/$rpmfile"
	step "$rpmfile"
else
	echo "package: no rpmbuild (apt install rpm): no .rpm" >&2
fi

# 5. The tarball.
tarname=$name-$version-linux-x64
tdir=$work/$tarname
mkdir -p "$tdir"
cp "$exe" "$tdir/$name"
cp packaging/$name.service "$tdir/"
cp packaging/sysusers.conf "$tdir/$name.sysusers.conf"
cp examples/config.yaml "$tdir/config.yaml"
cp LICENSE "$tdir/LICENSE"
cp "$doc/THIRD-PARTY-LICENSES.txt" "$doc/NODEJS-LICENSE" "$tdir/"
(cd "$tdir" && sha256sum -- * >SHA256SUMS)
tar -C "$work" --owner=0 --group=0 --numeric-owner --sort=name --mtime="@$(git log -1 --format=%ct 2>/dev/null || date +%s)" \
	-czf "$out/$tarname.tar.gz" "$tarname"
step "$tarname.tar.gz"

# 6. Checksums and sizes.
(cd "$out" && sha256sum -- $name *.deb *.tar.gz $rpmfile >SHA256SUMS)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
size() { stat -c %s "$1"; }
bundle_gz=$(gzip -9c "$work/bundle/$name.cjs" | wc -c)
{
	echo "| artefact | size |"
	echo "|---|---|"
	echo "| \`$name\` (single executable, Node.js $(node -p process.versions.node) embedded) | $(mib "$(size "$out/$name")") |"
	echo "| \`$debfile\` | $(mib "$(size "$out/$debfile")") |"
	[ -z "$rpmfile" ] || echo "| \`$rpmfile\` | $(mib "$(size "$out/$rpmfile")") |"
	echo "| \`$tarname.tar.gz\` | $(mib "$(size "$out/$tarname.tar.gz")") |"
	echo "| the bundle alone (\`$name.cjs\`, the container image's own layer) | $(mib "$(size "$work/bundle/$name.cjs")"), $(mib "$bundle_gz") gzipped |"
	# For comparison, the Go peer as Debian packages it (from the archive's metadata, when apt has it).
	peer=$(apt-cache show prometheus-libvirt-exporter 2>/dev/null | awk -F': ' '
		/^Version:/ && !v { v = $2 } /^Size:/ && !s { s = $2 } /^Installed-Size:/ && !i { i = $2 }
		END { if (s) printf "%s %s %s", v, s, i * 1024 }')
	if [ -n "$peer" ]; then
		set -- $peer
		echo "| for comparison: Debian's Go exporter, \`prometheus-libvirt-exporter\` $1 (apt-cache), .deb / installed, plus libvirt0 | $(mib "$2") / $(mib "$3") |"
	fi
} >"$out/SIZES.md"
if [ "$docs" = 1 ]; then
	for f in docs/install.md README.md; do
		node -e '
			const fs = require("node:fs");
			const [file, table, version] = process.argv.slice(1);
			const text = fs.readFileSync(file, "utf8");
			const re = /(<!-- sizes: begin[^>]*-->\n)[\s\S]*?(<!-- sizes: end -->)/;
			if (!re.test(text)) throw new Error(file + ": no <!-- sizes: begin --> block");
			fs.writeFileSync(file, text.replace(re, (_, a, b) => a + table + "\n" + b));
		' "$f" "$(cat "$out/SIZES.md")

(measured by \`npm run package\` at $LIBVIRT_EXPORTER_REVISION, version $version)" "$version"
	done
fi
rm -rf "$work"
step "done: $(ls "$out" | tr '\n' ' ')"
