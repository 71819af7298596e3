"""Describes Debian's system libraries to Bazel by running pkg-config at fetch time (no network)."""

def _pkg_config_libs_impl(rctx):
    out = ['package(default_visibility = ["//visibility:public"])']
    for name, modules in rctx.attr.libs.items():
        result = rctx.execute(["pkg-config", "--libs", "--cflags"] + modules.split(" "))
        if result.return_code != 0:
            fail("pkg-config %s: %s (run tools/setup)" % (modules, result.stderr))
        flags = [f for f in result.stdout.strip().split(" ") if f]
        out.append("cc_library(name = %r, defines = %r, linkopts = %r)" % (
            name,
            [f[2:] for f in flags if f.startswith("-D")],
            [f for f in flags if f[:2] not in ("-D", "-I")],
        ))
    rctx.file("WORKSPACE", "")
    rctx.file("BUILD.bazel", "\n".join(out) + "\n")

pkg_config_libs = repository_rule(
    implementation = _pkg_config_libs_impl,
    local = True,
    attrs = {"libs": attr.string_dict()},
)
