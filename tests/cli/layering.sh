#!/bin/sh
# The include arrows point down (docs/architecture.md): util/ includes only util/;
# kernels/ only kernels/ and util/; format/ only format/, ir/ and util/; ops/ never
# runtime/, plan/ or passes/.
set -u
status=0
check() { # folder, allowed-prefix regex
    bad=$(grep -n '#include "' src/$1/*.c src/$1/*.h 2>/dev/null | grep -v -E "#include \"($2)/" | grep -v '#include "onyx.h"')
    if [ -n "$bad" ]; then
        echo "src/$1 includes outside ($2):"
        echo "$bad"
        status=1
    fi
}
check util 'util'
check kernels 'kernels|util'
check kernels/x86 'kernels|util'
check format 'format|ir|util'
check ops 'ops|ir|kernels|util'
exit $status
