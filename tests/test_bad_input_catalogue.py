"""Every bad input the CLI can meet: one line on stderr, exit code 2, no traceback, nothing written.

(Config-file errors are specified one by one in test_config_errors.py; this is the end-to-end catalogue,
one case per line of issue 11 and per earlier bad input, then the exit codes 0/1/3, the output files,
and a fuzz of configs and arguments.)
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import CONFIG_DIR
from rfprobe.frontends.cli import main

SMALL = str(CONFIG_DIR / "encodec_24khz_causal_conv.yaml")
TINY = "sample_rate: 8000\nn_filters: 2\ndimension: 2\nratios: [2, 2]\nlstm: 0\n"
SECRET = "rfprobe-test-secret-value-8d1f"
REPOSITORY = Path(__file__).resolve().parent.parent


def listing(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def fails_cleanly(arguments, capsys, tmp_path, expected: str) -> str:
    """Exit 2, one line naming the problem, nothing on stdout, no file created, no --json written."""
    out = tmp_path / "never.json"
    before = listing(tmp_path)
    assert main([*arguments, *([] if "--json" in arguments else ["--json", str(out)])]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert expected in err, err
    assert captured.out == "", captured.out
    assert listing(tmp_path) == before
    return err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def write_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def audiocraft_yaml(seanet_extra: str = "", top: str = "") -> str:
    return (
        f"sample_rate: 8000\nchannels: 1\n{top}seanet:\n  channels: ${{channels}}\n  n_filters: 2\n"
        f"  dimension: 2\n  ratios: [2, 2]\n  lstm: 0\n{seanet_extra}"
    )


def tiny_state(**overrides) -> dict:
    from rfprobe.families.seanet.config import parse_config
    from rfprobe.families.seanet.encoder import build_encoder

    config = parse_config({"sample_rate": 8000, "n_filters": 2, "dimension": 2, "ratios": [2, 2], "lstm": 0}, "tiny")
    return {f"encoder.{k}": v.clone() for k, v in build_encoder(config).state_dict().items()}


def checkpoint(tmp_path, xp_cfg=None, best_state=None, name="compression_state_dict.bin") -> str:
    path = tmp_path / name
    torch.save(
        {
            "xp.cfg": audiocraft_yaml() if xp_cfg is None else xp_cfg,
            "best_state": tiny_state() if best_state is None else best_state,
        },
        path,
    )
    return str(path)


def anchor_bomb(levels: int = 9, leaf: str = "x") -> str:
    """Nested YAML aliases: a few hundred bytes, 10**levels leaves when expanded."""
    lines = [f"l0: &l0 [{', '.join([leaf] * 10)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def evil_checkpoint(tmp_path) -> str:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo this must never run",))

    path = tmp_path / "evil.bin"
    torch.save({"xp.cfg": audiocraft_yaml(), "best_state": Evil()}, path)
    return str(path)


def big(ratios: str, n_filters: int) -> str:
    return f"sample_rate: 16000\nratios: {ratios}\nn_filters: {n_filters}\nlstm: 0\n"


# case -> (arguments built in tmp_path, expected part of the one line)
CASES = {
    # earlier catalogue
    "malformed yaml": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: [1, 2\n")], "malformed YAML"),
    "unknown key": (
        lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nratio: [2]\n")],
        "unknown key 'ratio'",
    ),
    "wrong type": (
        lambda t: ["--config", write(t, "a.yaml", "sample_rate: fast\n")],
        "'sample_rate' must be an integer",
    ),
    "empty ratios": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nratios: []\n")], "'ratios'"),
    "zero kernel": (
        lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nkernel_size: 0\n")],
        "'kernel_size'",
    ),
    "negative kernel": (
        lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nlast_kernel_size: -3\n")],
        "'last_kernel_size'",
    ),
    "clip shorter than one hop (stride larger than the input)": (
        lambda t: ["--config", SMALL, "--clip-seconds", "0.01"],
        "shorter than its receptive field",
    ),
    "clip shorter than the RF": (lambda t: ["--config", SMALL, "--clip-seconds", "0.05"], "use at least"),
    "unknown device": (lambda t: ["--config", SMALL, "--device", "gpu"], "unknown device"),
    "unknown dtype": (lambda t: ["--config", SMALL, "--dtype", "half"], "unknown dtype"),
    "unreadable checkpoint": (
        lambda t: ["--checkpoint", write(t, "c.bin", "garbage")],
        "not a readable torch checkpoint",
    ),
    "missing checkpoint": (lambda t: ["--checkpoint", str(t / "absent.bin")], "no such file"),
    "bad module spec": (lambda t: ["--module", "no_colon_here"], "expected package.module:factory"),
    "unimportable module": (lambda t: ["--module", "surely_not_a_module_xyz:make"], "cannot import"),
    "non-positive channels": (lambda t: ["--module", "modules:WideSideBranch", "--channels", "0"], "--channels 0"),
    "non-positive hop": (lambda t: ["--module", "modules:WideSideBranch", "--hop", "-2"], "--hop -2"),
    "bad trim ratio": (lambda t: ["--config", SMALL, "--decoder", "--trim-right-ratio", "2"], "[0, 1]"),
    # issue 11: environment variables never reach a report
    "oc.env in norm_params (--config)": (
        lambda t: [
            "--config",
            write(t, "a.yaml", audiocraft_yaml("  norm_params: {leaked: '${oc.env:RFPROBE_SECRET}'}\n")),
        ],
        "unsupported interpolation ${oc.env:RFPROBE_SECRET}",
    ),
    "oc.env in a checkpoint's xp.cfg": (
        lambda t: [
            "--checkpoint",
            checkpoint(t, xp_cfg=audiocraft_yaml("  norm_params: {leaked: '${oc.env:RFPROBE_SECRET}'}\n")),
        ],
        "only key references such as ${sample_rate}",
    ),
    "oc.env in activation": (
        lambda t: ["--config", write(t, "a.yaml", audiocraft_yaml("  activation: 'x${oc.env:RFPROBE_SECRET}'\n"))],
        "no environment variables",
    ),
    # issue 11: YAML anchor bombs
    "anchor bomb in an audiocraft config": (
        lambda t: ["--config", write(t, "a.yaml", anchor_bomb() + audiocraft_yaml())],
        "expands to more than",
    ),
    "anchor bomb under claims.layers[].name": (
        lambda t: [
            "--config",
            write(t, "a.yaml", anchor_bomb(leaf="n") + TINY + "claims:\n  layers:\n    - {name: *l9, kernel: 3}\n"),
        ],
        "expands to more than",
    ),
    "anchor bomb under norm_params": (
        lambda t: ["--config", write(t, "a.yaml", anchor_bomb() + TINY + "norm_params: {x: *l9}\n")],
        "expands to more than",
    ),
    "alias containing itself": (lambda t: ["--config", write(t, "a.yaml", "a: &a [*a]\n" + TINY)], "contains itself"),
    # issue 11: --json and --plot paths
    "--json at a symlink": (lambda t: ["--config", SMALL, "--json", str(symlink(t))], "a symlink"),
    "--json at a device": (lambda t: ["--config", SMALL, "--json", os.devnull], "a device"),
    "--json at an existing directory": (lambda t: ["--config", SMALL, "--json", str(t)], "a directory"),
    "--plot under a regular file": (
        lambda t: ["--config", SMALL, "--plot", str(Path(write(t, "file.txt", "x")) / "plots")],
        "not a directory",
    ),
    "--plot at a regular file": (lambda t: ["--config", SMALL, "--plot", write(t, "file.txt", "x")], "not a directory"),
    # issue 11: inputs that used to give tracebacks
    "non-UTF-8 config": (
        lambda t: ["--config", write_bytes(t, "a.yaml", b"sample_rate: 16000\nname: \xff\xfe\n")],
        "not UTF-8",
    ),
    "non-UTF-8 transformers config": (
        lambda t: ["--hf-config", write_bytes(t, "c.json", b'{"num_filters": "\xff"}')],
        "not UTF-8",
    ),
    "activation_params {bogus: 1}": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "activation_params: {bogus: 1}\n")],
        "'activation_params.bogus' is not a parameter of torch.nn.ELU",
    ),
    "activation: Conv1d": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "activation: Conv1d\n")],
        "not a torch.nn activation",
    ),
    "group norm with norm_params {bogus: 1}": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "norm: time_group_norm\nnorm_params: {bogus: 1}\n")],
        "'norm_params.bogus' is not a GroupNorm parameter",
    ),
    "alpha: .nan": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "activation_params: {alpha: .nan}\n")],
        "must be a finite number",
    ),
    "all-zero checkpoint weights": (
        lambda t: ["--checkpoint", checkpoint(t, best_state={k: torch.zeros_like(v) for k, v in tiny_state().items()})],
        "every encoder weight is zero",
    ),
    "int64 checkpoint weights": (
        lambda t: ["--checkpoint", checkpoint(t, best_state={k: v.long() for k, v in tiny_state().items()})],
        "has dtype int64",
    ),
    "best_state is a list": (lambda t: ["--checkpoint", checkpoint(t, best_state=[1, 2])], "best_state is a list"),
    "best_state holds a non-tensor": (
        lambda t: ["--checkpoint", checkpoint(t, best_state={**tiny_state(), "encoder.model.0.conv.conv.bias": "x"})],
        "is a str, not a tensor",
    ),
    "xp.cfg is a dict": (lambda t: ["--checkpoint", checkpoint(t, xp_cfg={"seanet": {}})], "its xp.cfg is a dict"),
    "transformers config with a wrong type": (
        lambda t: ["--hf-config", write(t, "c.json", '{"num_filters": "32"}')],
        "expected int, got str",
    ),
    "transformers config nested 100k deep": (
        lambda t: ["--hf-config", write(t, "c.json", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")],
        "nested too deeply",
    ),
    "--clip-seconds inf": (lambda t: ["--config", SMALL, "--clip-seconds", "inf"], "--clip-seconds inf"),
    "--clip-seconds nan": (lambda t: ["--config", SMALL, "--clip-seconds", "nan"], "--clip-seconds nan"),
    "--seed 2**64-1": (lambda t: ["--config", SMALL, "--seed", str(2**64 - 1)], "--seed"),
    # issue 11: resource bombs, refused with the estimate before anything runs
    "ratios [10]*6, n_filters 512, 300 s clip": (
        lambda t: ["--config", write(t, "a.yaml", big("[10, 10, 10, 10, 10, 10]", 512)), "--clip-seconds", "300"],
        "estimated peak memory",
    ),
    "ratios [10]*6, n_filters 4, 300 s clip": (
        lambda t: ["--config", write(t, "a.yaml", big("[10, 10, 10, 10, 10, 10]", 4)), "--clip-seconds", "300"],
        "above the --max-memory budget of 8 GiB",
    ),
    "n_filters 100000": (lambda t: ["--config", write(t, "a.yaml", big("[2]", 100_000))], "estimated peak memory"),
    "dimension 1e11": (
        lambda t: ["--config", write(t, "a.yaml", TINY.replace("dimension: 2", "dimension: 100000000000"))],
        "'dimension' is 100000000000; rfprobe accepts at most",
    ),
    "n_residual_layers 100000": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "n_residual_layers: 100000\n")],
        "accepts at most 64",
    ),
    "--module with --hop 1e12": (
        lambda t: ["--module", "modules:Flipper", "--hop", str(10**12)],
        "estimated peak memory",
    ),
    "over a small --max-memory": (lambda t: ["--config", SMALL, "--max-memory", "0.01"], "pass --max-memory"),
    "--max-memory nan": (lambda t: ["--config", SMALL, "--max-memory", "nan"], "--max-memory nan"),
    # issue 11: partial output
    "good config then a checkpoint that does not fit": (
        lambda t: [
            "--config",
            SMALL,
            "--plot",
            str(t / "plots"),
            "--checkpoint",
            checkpoint(t, best_state={k: v[..., :1] if v.dim() == 3 else v for k, v in tiny_state().items()}),
        ],
        "do not fit",
    ),
    "--clip-seconds 1e9 with --plot": (
        lambda t: ["--config", SMALL, "--plot", str(t / "plots"), "--clip-seconds", "1e9"],
        "--clip-seconds 1e+09",
    ),
    # issue 11: silent or misleading
    "factory calling sys.exit(0)": (lambda t: ["--module", "hostile_modules:exits"], "called sys.exit(0)"),
    "checkpoint pickling code": (
        lambda t: ["--checkpoint", evil_checkpoint(t)],
        "refused: it holds pickled Python objects",
    ),
    "!!python/object tag": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "name: !!python/object:os.system {}\n")],
        "unsupported YAML tag '!!python/object:os.system'",
    ),
    "duplicate keys": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "n_filters: 4\n")],
        "duplicate key 'n_filters' at line 6",
    ),
    "claims.receptive_field_ms: .nan": (
        lambda t: ["--config", write(t, "a.yaml", TINY + "claims: {receptive_field_ms: .nan}\n")],
        "'claims.receptive_field_ms' must be a positive finite number",
    ),
    "module with NaN output": (
        lambda t: ["--module", "hostile_modules:NotFinite"],
        "the module's output is not finite",
    ),
    "constant-length module with --hop 4": (
        lambda t: ["--module", "hostile_modules:ConstantLength", "--hop", "4"],
        "its output does not grow with its input",
    ),
    "module the walk cannot read, with a wrong --hop": (
        lambda t: ["--module", "modules:Flipper", "--hop", "3"],
        "6 more input samples should give 2 more frames",
    ),
    "module with a wrong --hop": (
        lambda t: ["--module", "modules:WideSideBranch", "--hop", "3"],
        "the module walk reads a hop of 4 samples, not 3: pass --hop 4",
    ),
    "module with a --hop the frame counts cannot tell from the true one": (
        lambda t: ["--module", "modules:WideSideBranch", "--hop", "5"],
        "the module walk reads a hop of 4 samples, not 5: pass --hop 4",
    ),
    "--quiet with --verbose": (lambda t: ["--quiet", "--verbose"], "not allowed with argument --quiet"),
}


def symlink(tmp_path: Path) -> Path:
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    return link


@pytest.fixture(autouse=True)
def secret_in_the_environment(monkeypatch):
    monkeypatch.setenv("RFPROBE_SECRET", SECRET)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_one_line_and_exit_two(case, capsys, tmp_path):
    build, expected = CASES[case]
    err = fails_cleanly(build(tmp_path), capsys, tmp_path, expected)
    assert SECRET not in err and "weights_only=False" not in err and "weights_only` set to `False" not in err


def test_a_symlink_at_json_is_left_pointing_at_its_untouched_target(tmp_path, capsys):
    link = symlink(tmp_path)
    fails_cleanly(["--config", SMALL, "--json", str(link)], capsys, tmp_path, "a symlink")
    assert link.is_symlink() and (tmp_path / "target.txt").read_text() == "keep me"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda(capsys, tmp_path):
    fails_cleanly(["--config", SMALL, "--device", "cuda"], capsys, tmp_path, "CUDA is not available")


def test_nan_weights_in_a_checkpoint(capsys, tmp_path):
    state = tiny_state()
    state["encoder.model.0.conv.conv.bias"][0] = float("nan")
    fails_cleanly(["--checkpoint", checkpoint(tmp_path, best_state=state)], capsys, tmp_path, "holds NaN or inf")


def test_plot_names_stay_inside_the_plot_directory(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plots = tmp_path / "deep" / "plots"
    configs = [
        write(tmp_path, f"c{index}.yaml", TINY + f"name: '{name}'\n")
        for index, name in enumerate(("../../../elsewhere/x", str(tmp_path / "absolute")))
    ]
    assert (
        main(["--config", configs[0], "--config", configs[1], "--plot", str(plots), "--quiet", "--clip-seconds", "0.1"])
        == 0
    )
    assert sorted(p.name for p in plots.iterdir()) == sorted(
        [f"elsewhere_x_{kind}.png" for kind in ("receptive_field", "edges")]
        + [
            f"{str(tmp_path / 'absolute').strip('/').replace('/', '_')}_{kind}.png"
            for kind in ("receptive_field", "edges")
        ]
    )
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "absolute_edges.png").exists()
    capsys.readouterr()


def test_ignored_norm_params_are_named_in_a_warning(tmp_path, capsys):
    config = write(tmp_path, "a.yaml", TINY + "norm_params: {eps: 0.1}\n")
    assert main(["--config", config, "--quiet", "--clip-seconds", "0.1"]) == 0
    assert "norm_params {'eps': 0.1} is ignored" in capsys.readouterr().err


def test_an_existing_json_keeps_its_permissions_and_is_replaced_whole(tmp_path, capsys):
    report = tmp_path / "report.json"
    report.write_text("old")
    report.chmod(0o600)
    config = write(tmp_path, "a.yaml", TINY)
    assert main(["--config", config, "--quiet", "--clip-seconds", "0.1", "--json", str(report)]) == 0
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert report.read_text().startswith("{") and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.yaml",
        "report.json",
    ]
    capsys.readouterr()


def test_sigterm_during_the_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    script = (
        "import os, signal; from pathlib import Path; from rfprobe.output.files import write_atomically\n"
        "def write(stream):\n    stream.write('half'); stream.flush(); os.kill(os.getpid(), signal.SIGTERM)\n"
        f"write_atomically(Path({str(target)!r}), write)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    assert result.returncode == -signal.SIGTERM  # died of the signal, as without rfprobe's handler
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_ctrl_c_during_the_write_leaves_the_old_file_and_no_temporary(tmp_path):
    from rfprobe.output.files import write_atomically

    target = tmp_path / "report.json"
    target.write_text("old")

    def write(stream) -> None:
        stream.write("half")
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, write)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    from rfprobe.output import files as output_files

    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(output_files.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(output_files.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    output_files.write_json_atomically(tmp_path / "r.json", {"a": 1})
    assert calls[:2] == ["fsync", "replace"]


def test_a_file_changed_during_the_run_is_named_in_a_warning(tmp_path, capsys):
    from rfprobe.output.files import check_output_file, write_json_atomically

    checked = check_output_file(tmp_path / "r.json")
    (tmp_path / "r.json").write_text("written by another run")
    write_json_atomically(checked, {"a": 1})
    assert "was changed by something else during this run" in capsys.readouterr().err


def test_help_says_module_runs_code():
    from rfprobe.frontends.cli import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "IMPORTS AND RUNS that Python code" in text and "current directory first on sys.path" in text


def test_an_internal_error_exits_three_with_the_traceback_in_a_file(monkeypatch, tmp_path, capsys):
    from rfprobe.frontends import cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "verify_config", broken)
    assert main(["--config", write(tmp_path, "a.yaml", TINY), "--quiet"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "internal error" in err and "ZeroDivisionError: a bug" in err
    saved = Path(err.split("traceback saved to ")[1].split(" ")[0])
    assert "Traceback" in saved.read_text() and "--debug" in err
    saved.unlink()
    assert main(["--config", write(tmp_path, "a.yaml", TINY), "--quiet", "--debug"]) == 3
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_running_out_of_memory_exits_two_not_as_a_fail(monkeypatch, tmp_path, capsys):
    from rfprobe.frontends import cli

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(cli, "verify_config", out_of_memory)
    assert main(["--config", write(tmp_path, "a.yaml", TINY), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "out of memory" in err and "--max-memory" in err


# Fuzzing: whatever the config or the arguments, exit 0/1/2 and never a traceback. Tiny architectures
# and a short clip keep the runs that pass validation at about a second each.
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
import yaml  # noqa: E402

ANY_VALUE = st.one_of(
    st.integers(-3, 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=6),
    st.lists(st.integers(-2, 9), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(-1, 3), st.floats()), max_size=2),
)
CONFIG_KEYS = st.sampled_from(
    [
        "channels",
        "dimension",
        "n_filters",
        "n_residual_layers",
        "ratios",
        "activation",
        "activation_params",
        "norm",
        "norm_params",
        "kernel_size",
        "last_kernel_size",
        "residual_kernel_size",
        "dilation_base",
        "causal",
        "pad_mode",
        "true_skip",
        "compress",
        "lstm",
        "disable_norm_outer_blocks",
        "name",
        "claims",
        "sample_rate",
        "bogus",
    ]
)
TINY_CONFIG = st.fixed_dictionaries(
    {
        "sample_rate": st.sampled_from([4000, 8000]),
        "n_filters": st.sampled_from([1, 2, 4]),
        "dimension": st.sampled_from([1, 2]),
        "ratios": st.lists(st.integers(1, 3), min_size=1, max_size=2),
        "lstm": st.sampled_from([0, 1]),
        "n_residual_layers": st.sampled_from([0, 1]),
        "causal": st.booleans(),
        "pad_mode": st.sampled_from(["constant", "reflect", "replicate"]),
    }
)
FUZZED_CONFIG = st.tuples(TINY_CONFIG, st.dictionaries(CONFIG_KEYS, ANY_VALUE, max_size=2)).map(
    lambda pair: {**pair[0], **pair[1]}
)
OPTION_VALUES = st.one_of(
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "-1",
            "0",
            "1e9",
            "1e-9",
            "1",
            "2",
            "0.3",
            "1e400",
            str(2**64 - 1),
            "cuda:99",
            "float32",
            "cpu",
            "",
            "x",
        ]
    ),
    st.integers(-2, 40).map(str),
)
OPTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(
                [
                    "--seed",
                    "--clip-seconds",
                    "--max-memory",
                    "--trim-right-ratio",
                    "--dtype",
                    "--device",
                    "--channels",
                    "--hop",
                ]
            ),
            OPTION_VALUES,
        ),
        st.sampled_from([("--decoder",), ("--strict-claims",), ("--bogus-flag",)]),
    ),
    max_size=3,
)


def exits_cleanly(arguments: list[str], capsys) -> int:
    code = main(arguments)
    err = capsys.readouterr().err.strip()
    assert code in (0, 1, 2), (arguments, code, err)
    assert "Traceback" not in err, err
    if code == 2:
        assert err.count("\n") == 0 and err.startswith("rfprobe: error: "), err
    return code


FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def test_fuzzed_configs_exit_zero_one_or_two_without_a_traceback_and_some_run(capsys, tmp_path):
    seen: list[int] = []

    @FUZZ_SETTINGS
    @given(config=FUZZED_CONFIG)
    def run(config):
        path = tmp_path / "fuzzed.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        seen.append(exits_cleanly(["--config", str(path), "--quiet", "--clip-seconds", "0.2"], capsys))

    run()
    assert 0 in seen, f"the fuzzing met only refusals: {sorted(seen)}"


def test_fuzzed_arguments_exit_zero_one_or_two_without_a_traceback_and_reach_runs_and_refusals(capsys, tmp_path):
    seen: list[int] = []
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")

    @FUZZ_SETTINGS
    @given(options=OPTIONS)
    def run(options):
        seen.append(
            exits_cleanly(["--config", str(path), "--quiet", *(part for option in options for part in option)], capsys)
        )

    run()
    assert {0, 2} <= set(seen), sorted(seen)
