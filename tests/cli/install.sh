#!/bin/sh
# `make install PREFIX=...` puts the header, both libraries (libonyx.so -> libonyx.so.0 ->
# libonyx.so.0.1.0, soname libonyx.so.0), the tool and onyx.pc in place; examples/hello.c
# built against that install with the flags onyx.pc gives prints what build/hello prints.
# DESTDIR stages an install without changing the prefix written in onyx.pc; `make
# uninstall` removes every file again. Without pkg-config the test reads onyx.pc itself.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BUILD=${BUILD:-build}
prefix="$tmp/prefix"
make -s BUILD="$BUILD" PREFIX="$prefix" install >"$tmp/log" 2>&1 || {
    echo "make install failed"; cat "$tmp/log"; exit 1; }
for f in include/onyx.h lib/libonyx.a lib/libonyx.so.0.1.0 bin/onyx lib/pkgconfig/onyx.pc; do
    [ -f "$prefix/$f" ] || { echo "missing $prefix/$f"; exit 1; }
done
[ "$(readlink "$prefix/lib/libonyx.so.0")" = libonyx.so.0.1.0 ] || { echo "libonyx.so.0 link"; exit 1; }
[ "$(readlink "$prefix/lib/libonyx.so")" = libonyx.so.0 ] || { echo "libonyx.so link"; exit 1; }
if command -v readelf >/dev/null 2>&1; then
    readelf -d "$prefix/lib/libonyx.so.0.1.0" | grep -q 'SONAME.*\[libonyx\.so\.0\]' || {
        echo "soname is not libonyx.so.0"; readelf -d "$prefix/lib/libonyx.so.0.1.0"; exit 1; }
fi
pc="$prefix/lib/pkgconfig/onyx.pc"
grep -qx "prefix=$prefix" "$pc" || { echo "onyx.pc prefix:"; cat "$pc"; exit 1; }

# field $1 (Cflags, Libs, Libs.private) of onyx.pc with ${variables} expanded
pc_field() {
    awk -v want="$1" '
    function expand(s,   name) {
        while (match(s, /\$\{[A-Za-z0-9_.]+\}/)) {
            name = substr(s, RSTART + 2, RLENGTH - 3)
            s = substr(s, 1, RSTART - 1) vars[name] substr(s, RSTART + RLENGTH)
        }
        return s
    }
    /^[A-Za-z0-9_.]+=/ { k = substr($0, 1, index($0, "=") - 1); vars[k] = expand(substr($0, index($0, "=") + 1)); next }
    index($0, want ":") == 1 { v = substr($0, length(want) + 2); sub(/^[ \t]+/, "", v); print expand(v) }
    ' "$pc"
}
cflags=$(pc_field Cflags)
libs=$(pc_field Libs)
private=$(pc_field Libs.private)
[ "$cflags" = "-I$prefix/include" ] || { echo "Cflags: '$cflags'"; exit 1; }
[ "$libs" = "-L$prefix/lib -lonyx" ] || { echo "Libs: '$libs'"; exit 1; }
[ "$private" = "-lm -lpthread" ] || { echo "Libs.private: '$private'"; exit 1; }
if command -v pkg-config >/dev/null 2>&1; then
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    flags=$(pkg-config --cflags --libs onyx) || { echo "pkg-config cannot read onyx.pc"; exit 1; }
    static=$(pkg-config --static --libs onyx)
    [ "$(pkg-config --modversion onyx)" = 0.1.0 ] || { echo "pkg-config --modversion"; exit 1; }
    case "$static" in *-lm*-lpthread*) ;; *) echo "pkg-config --static --libs: $static"; exit 1 ;; esac
else
    echo "notice: pkg-config not found (apt-get install pkg-config): reading onyx.pc directly"
    flags="$cflags $libs"
    static="$libs $private"
fi

# a library built with sanitizers needs them in the program too
san=""
grep -qa __asan_init "$prefix/lib/libonyx.so.0.1.0" && san="-fsanitize=address,undefined"
cc=${CC:-cc}
model=examples/linear_tanh/model.onnx
# shellcheck disable=SC2086
$cc $san -o "$tmp/hello" examples/hello.c $flags -Wl,-rpath,"$prefix/lib" 2>"$tmp/cc" || {
    echo "building hello.c against the install failed: $cc hello.c $flags"; cat "$tmp/cc"; exit 1; }
"$tmp/hello" "$model" >"$tmp/out" 2>&1 || { echo "installed hello failed"; cat "$tmp/out"; exit 1; }
grep -q '^output y: 10 values:' "$tmp/out" || { echo "unexpected hello output:"; cat "$tmp/out"; exit 1; }
"$BUILD/hello" "$model" >"$tmp/want" 2>&1
cmp "$tmp/out" "$tmp/want" || { echo "installed hello differs from $BUILD/hello"; exit 1; }
# static link: libonyx.a plus Libs.private
# shellcheck disable=SC2086
$cc $san -o "$tmp/hello_static" examples/hello.c $cflags "$prefix/lib/libonyx.a" $private 2>"$tmp/cc" || {
    echo "static link failed"; cat "$tmp/cc"; exit 1; }
"$tmp/hello_static" "$model" >"$tmp/out2" 2>&1 && cmp "$tmp/out2" "$tmp/want" || {
    echo "static hello differs"; exit 1; }
"$prefix/bin/onyx" info "$model" >/dev/null || { echo "installed onyx failed"; exit 1; }

# DESTDIR stages under another root; onyx.pc still names the real prefix
make -s BUILD="$BUILD" PREFIX=/opt/onyx DESTDIR="$tmp/stage" install >"$tmp/log" 2>&1 || {
    echo "make install DESTDIR failed"; cat "$tmp/log"; exit 1; }
grep -qx 'prefix=/opt/onyx' "$tmp/stage/opt/onyx/lib/pkgconfig/onyx.pc" || { echo "DESTDIR onyx.pc"; exit 1; }
make -s BUILD="$BUILD" PREFIX=/opt/onyx DESTDIR="$tmp/stage" uninstall >"$tmp/log" 2>&1 &&
    make -s BUILD="$BUILD" PREFIX="$prefix" uninstall >>"$tmp/log" 2>&1 || {
    echo "make uninstall failed"; cat "$tmp/log"; exit 1; }
[ "$(find "$tmp/stage" "$prefix" ! -type d | wc -l)" -eq 0 ] || {
    echo "files left after uninstall:"; find "$tmp/stage" "$prefix" ! -type d; exit 1; }
exit 0
