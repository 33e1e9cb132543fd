"""--plot writes two readable PNGs per config; without matplotlib it says how to get it."""

from __future__ import annotations

import pytest

from conftest import CONFIG_DIR
from rfprobe.frontends.cli import main


def test_plot_writes_two_pngs_per_config(tmp_path):
    pytest.importorskip("matplotlib", reason='matplotlib is an optional extra: pip install -e ".[plot]"')
    assert (
        main(["--config", str(CONFIG_DIR / "encodec_24khz_causal_conv.yaml"), "--plot", str(tmp_path), "--quiet"]) == 0
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["encodec_24khz_causal_conv_edges.png", "encodec_24khz_causal_conv_receptive_field.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in tmp_path.iterdir())


def test_plot_without_matplotlib_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert main(["--config", str(CONFIG_DIR / "encodec_24khz_causal_conv.yaml"), "--plot", str(tmp_path)]) == 2
    assert 'pip install -e ".[plot]"' in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
