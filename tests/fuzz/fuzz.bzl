"""fuzz_target: one LLVMFuzzerTestOneInput, as a libFuzzer binary or a replay binary, plus its test."""

# Seconds each target runs in the test suite (the issue asks for 60).
SMOKE_SECONDS = 60

def fuzz_target(name, deps, max_len):
    """Defines :<name> (the binary), :<name>_corpus and the :<name>_smoke test.

    Under --config=fuzz the binary links libFuzzer (with ASan/UBSan from the config); otherwise it
    links replay_main.cc. The corpus is corpus/<name minus _fuzzer>/.
    """
    corpus = name[:-len("_fuzzer")]
    native.filegroup(
        name = name + "_corpus",
        srcs = native.glob(["corpus/%s/*" % corpus]),
    )
    native.cc_binary(
        name = name,
        srcs = [name + ".cc"],
        deps = deps + [":fuzz_check"] + select({
            ":libfuzzer": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        # The binary is only useful to the scripts and tests here.
        visibility = ["//visibility:private"],
    )
    native.sh_test(
        name = name + "_smoke",
        size = "large",
        timeout = "long",
        srcs = ["smoke_test.sh"],
        args = [
            "$(location :%s)" % name,
            "tests/fuzz/corpus/" + corpus,
            str(SMOKE_SECONDS),
            str(max_len),
        ],
        data = [":" + name, ":" + name + "_corpus"],
    )
