#!/usr/bin/env bash
# Checks deploy/Dockerfile without a Docker engine:
# - stages: build on debian:bookworm with tools/setup and `bazel build -c opt`, run on bookworm-slim;
# - every shared library `ldd` reports for the built server belongs (dpkg -S, on this Debian 12
#   machine) to a package the runtime stage installs, and every library package installed there is
#   one the binary needs (plus ca-certificates);
# - a non-root numeric USER, the fixed entrypoint and config path, COPY sources that exist;
# - .dockerignore keeps Bazel outputs, node_modules and .git out of the build context.
set -euo pipefail
source "$TEST_SRCDIR/evaluatecode/tests/deploy/deploy_test_lib.sh"
dockerfile="$runfiles/deploy/Dockerfile"
binary="$runfiles/service/evaluate_server"

# The Dockerfile with continuation lines joined and comments dropped, one instruction per line.
instructions=$(sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' "$dockerfile" |
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | tr -s ' \t' '  ')
stages=$(grep -c '^FROM ' <<<"$instructions")
[ "$stages" -ge 2 ] && ok "multi-stage ($stages stages)" || fail "multi-stage: $stages FROM"
grep -qE '^FROM debian:bookworm AS build$' <<<"$instructions" && ok "build stage on debian:bookworm" ||
  fail "build stage is not 'FROM debian:bookworm AS build'"
build_stage=$(awk '/^FROM /{n++} n==1' <<<"$instructions")
runtime=$(awk -v last="$stages" '/^FROM /{n++} n==last' <<<"$instructions")
grep -q '^RUN tools/setup' <<<"$build_stage" && ok "build stage runs tools/setup" || fail "build stage: no RUN tools/setup"
grep -q 'bazel build -c opt //service:evaluate_server' <<<"$build_stage" &&
  ok "build stage builds //service:evaluate_server with -c opt" || fail "build stage: no bazel build -c opt"
for file in core-js-bundle/minified.js typescript/lib/typescript.js typescript/lib/lib.es5.d.ts \
            typescript/lib/lib.es2020; do
  grep -q "node_modules/$file" <<<"$build_stage" && ok "build stage installs $file" ||
    fail "build stage does not install the script runtime's $file"
done
[ "$(head -1 <<<"$runtime")" = "FROM debian:bookworm-slim" ] && ok "runtime stage on debian:bookworm-slim" ||
  fail "runtime stage: $(head -1 <<<"$runtime")"

# The runtime stage's `apt-get install` packages (words after `install` that are not options, up to &&).
installed=$(grep -o 'apt-get install[^&]*' <<<"$runtime" | sed 's/apt-get install//' | tr ' ' '\n' |
  grep -v '^-' | grep -v '^$' | sort -u)
[ -n "$installed" ] && ok "runtime stage installs: $(tr '\n' ' ' <<<"$installed")" || fail "runtime stage installs nothing"
grep -qx ca-certificates <<<"$installed" && ok "runtime stage installs ca-certificates" || fail "no ca-certificates"
grep -q -- '--no-install-recommends' <<<"$runtime" && ok "runtime apt-get install uses --no-install-recommends" ||
  fail "runtime apt-get install without --no-install-recommends"
grep -q 'rm -rf /var/lib/apt/lists' <<<"$runtime" && ok "runtime stage drops the apt lists" || fail "apt lists kept"

libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $1 " " $3} $1 ~ /^\// {print $1 " " $1}')
[ -n "$libraries" ] && ok "ldd lists $(wc -l <<<"$libraries") libraries" || fail "ldd lists no libraries"
! ldd "$binary" | grep 'not found' || fail "ldd: a library is not found"
# Which package owns each library. Debian 12 is usr-merged and dpkg knows a file under one of its
# names only, so ask (in one dpkg -S call) for the path, its target, and both with and without /usr.
candidates() { local p; for p in "$1" "$(readlink -f "$1")"; do echo "$p"; echo "${p#/usr}"; echo "/usr${p}"; done | sort -u; }
declare -A owner_of
while IFS= read -r line; do
  [[ $line == diversion* ]] && continue
  packages=${line%: *}
  owner_of[${line##*: }]=$(cut -d: -f1 <<<"${packages%%,*}")
done < <(while read -r _ path; do candidates "$path"; done <<<"$libraries" | xargs dpkg -S 2>/dev/null || true)
needed=""
while read -r soname path; do
  package=""
  for candidate in $(candidates "$path"); do
    package=${owner_of[$candidate]:-}
    [ -n "$package" ] && break
  done
  [ -n "$package" ] || { fail "no package owns $path ($soname)"; continue; }
  needed+="$package"$'\n'
  grep -qx "$package" <<<"$installed" || fail "$soname comes from $package, which the runtime stage does not install"
done <<<"$libraries"
needed=$(grep -v '^$' <<<"$needed" | sort -u)
missing=$(comm -23 <(echo "$needed") <(echo "$installed"))
[ -z "$missing" ] && ok "every library package is installed: $(tr '\n' ' ' <<<"$needed")"
extra=$(comm -13 <(echo "$needed") <(echo "$installed") | grep -vx ca-certificates || true)
[ -z "$extra" ] && ok "no package installed that the binary does not need" ||
  fail "the runtime stage installs packages the binary does not link: $(tr '\n' ' ' <<<"$extra")"

# User, entrypoint, config.
user=$(grep '^USER ' <<<"$runtime" | tail -1 | cut -d' ' -f2)
uid=${user%%:*}
[ -n "$user" ] && [ "$uid" = 65532 ] && ok "USER $user (numeric, non-root: Kubernetes runAsNonRoot can verify it)" ||
  fail "USER is '$user', expected 65532"
grep -qE 'useradd .*--uid 65532' <<<"$runtime" && ok "uid 65532 has a passwd entry" || fail "no useradd --uid 65532"
entrypoint=$(grep '^ENTRYPOINT ' <<<"$runtime" | tail -1)
[ "$entrypoint" = 'ENTRYPOINT ["/usr/local/bin/evaluate_server", "--config", "/etc/evaluatecode/config.yaml"]' ] &&
  ok "entrypoint runs the server with /etc/evaluatecode/config.yaml" || fail "entrypoint: $entrypoint"
grep -qE '^COPY --from=build [^ ]+ /usr/local/bin/evaluate_server$' <<<"$runtime" &&
  ok "the binary comes from the build stage" || fail "no COPY --from=build of the binary"
config_source=$(grep -E '^COPY [^-][^ ]* /etc/evaluatecode/config.yaml$' <<<"$runtime" | cut -d' ' -f2)
[ -n "$config_source" ] && ok "the image carries a default config from $config_source" || fail "no config at /etc/evaluatecode/config.yaml"
while read -r source; do
  [ -e "$workspace/$source" ] && ok "COPY source $source exists" || fail "COPY source $source does not exist"
done < <(grep '^COPY ' <<<"$instructions" | grep -v -- '--from=' | awk '{for (i = 2; i < NF; i++) print $i}' | grep -v '^\.$')

# Build context.
ignore="$workspace/.dockerignore"
if [ -f "$ignore" ]; then
  for pattern in .git 'bazel-*' node_modules; do
    grep -qxF "$pattern" "$ignore" && ok ".dockerignore excludes $pattern" || fail ".dockerignore does not exclude $pattern"
  done
else
  fail "no .dockerignore at the repository root (the build context)"
fi

[ "$failures" -eq 0 ] && echo "all checks passed" || { echo "$failures check(s) failed"; exit 1; }
