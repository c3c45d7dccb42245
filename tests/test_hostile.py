"""Hostile and careless model configs: refused in under a second, always as one ConfigError naming the layer or key
and the fix, never a traceback from torch or ultralytics, a hang or a crash (limits in yolo_ghost.cfg.limits)."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import yaml
from fuzz import run_fuzz, shipped_configs

from yolo_ghost import ConfigError, build_model
from yolo_ghost.__main__ import main as cli
from yolo_ghost.cfg import models_dir
from yolo_ghost.cfg.limits import LimitError, current_limits, override_limits

N = yaml.safe_load((models_dir() / "yolov5n.yaml").read_text())


def n_with(part: str | None = None, row: int | None = None, value=None, **top) -> dict:
    """yolov5n.yaml with one row replaced and / or top-level keys changed (a key set to ... is deleted)."""
    d = copy.deepcopy(N)
    if part is not None:
        d[part][row] = value
    for k, v in top.items():
        if v is ...:
            d.pop(k, None)
        else:
            d[k] = v
    return d


BILLION_LAUGHS = """
nc: 80
depth_multiple: 0.33
width_multiple: 0.25
anchors: [[10,13, 16,30, 33,23], [30,61, 62,45, 59,119], [116,90, 156,198, 373,326]]
a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
backbone: [[-1, 1, Conv, [16, 3, 2, *i]]]
head: [[-1, 1, Detect, [nc, anchors]]]
"""

# The hostile configs of issue 12: (config, what the message must say). Strings are YAML text, dicts loaded YAMLs.
LIMITS = {
    "n: 1000000000": (n_with("backbone", 2, [-1, 10**9, "C3", [128]]), "max_repeats"),
    "n: 1000": (n_with("backbone", 2, [-1, 1000, "C3", [128]]), "max_repeats"),
    "depth_multiple: 1e9": (n_with(depth_multiple=1e9), "max_repeats"),
    "channels 1e9": (n_with("backbone", 1, [-1, 1, "Conv", [10**9, 3, 2]]), "max_channels"),
    "width_multiple: 1e6": (n_with(width_multiple=1e6), "max_channels"),
    "nc: 1e9": (n_with(nc=10**9), "max_channels"),
    "billion laughs in args": (BILLION_LAUGHS, "max_yaml_nodes"),
    "10 MB file": (yaml.safe_dump(N) + "#" * 10_000_000, "max_file_bytes"),
    "100-deep YAML": ("nc: 1\nx: " + "[" * 100 + "]" * 100 + "\n", "max_yaml_depth"),
    "3000-deep dict": (
        n_with(x=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]),
        "max_yaml_depth",
    ),
    "5000 rows": (n_with(backbone=[[-1, 1, "Conv", [16, 3, 1]]] * 5000), "max_layers"),
    "1e9 parameters": (
        n_with("backbone", 9, [-1, 1, "Conv", [16000, 41, 1]], width_multiple=1.0),
        "max_params",
    ),
}
ERRORS = {
    "Concat dim 7": (n_with("head", 2, [[-1, 6], 1, "Concat", [7]]), r"layer 12 \(Concat\)"),
    "Upsample from a list": (n_with("head", 1, [[-1, 3], 1, "nn.Upsample", [None, 2, "nearest"]]), r"layer 11"),
    "ClassifyHead []": (n_with("head", 0, [-1, 1, "ClassifyHead", []]), r"layer 10 \(ClassifyHead\)"),
    "depth_multiple abc": (n_with(depth_multiple="abc"), "depth_multiple must be a positive finite number"),
    "depth_multiple .nan": ("nc: 1\ndepth_multiple: .nan\nbackbone: []\nhead: []\n", "depth_multiple must be"),
    "depth_multiple .inf": (n_with(depth_multiple=float("inf")), "depth_multiple must be a positive finite"),
    "width_multiple -1": (n_with(width_multiple=-1), "width_multiple must be a positive finite number"),
    "scales a list": (n_with(scales=[1, 2]), "scales must map a letter"),
    "scales short entry": (n_with(scales={"n": [0.33]}), r"scales.n must be \[depth, width, max_channels\]"),
    "scales text": (n_with(scales={"n": [0.33, "x", 1024]}), r"scales.n\[1\] \(width\) must be a positive"),
    "3000-deep YAML": ("nc: 1\nx: " + "[" * 3000 + "]" * 3000 + "\n", "nesting depth"),
    "binary garbage": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 50, "not a YAML text file"),
    "python tag": ("nc: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    "nn.LSTM row": (n_with("backbone", 9, [-1, 1, "nn.LSTM", [16, 16]]), r"layer 9 \(nn.LSTM\)"),
    "anchors named, none given": (n_with(anchors=...), r"'anchors'.*add 'anchors:'"),
    "nn.ReLU('yes')": (n_with("backbone", 9, [-1, 1, "nn.ReLU", ["yes"]]), r"layer 9 \(nn.ReLU\): argument 'inplace'"),
    "nn.Identity extra args": (n_with("backbone", 9, [-1, 1, "nn.Flatten", [1, 2, 3]]), r"layer 9 \(nn.Flatten\)"),
    "nc true": (n_with(nc=True), "nc must be a positive integer"),
    "row of 3": (n_with("backbone", 3, [-1, 1, "Conv"]), r"layer 3: expected a row"),
}


def build(cfg, tmp_path: Path):
    if isinstance(cfg, dict):
        return build_model(cfg)
    p = tmp_path / "hostile.yaml"
    p.write_bytes(cfg if isinstance(cfg, bytes) else cfg.encode())
    return build_model(p)


@pytest.mark.parametrize("case", LIMITS)
def test_resource_bombs_are_refused_in_under_a_second_naming_the_limit(case, tmp_path):
    cfg, limit = LIMITS[case]
    t0 = time.perf_counter()
    with pytest.raises(LimitError) as e:
        build(cfg, tmp_path)
    elapsed = time.perf_counter() - t0
    msg = str(e.value)
    assert f"({limit})" in msg and f"YOLO_GHOST_{limit.upper()}=" in msg and "override_limits" in msg, msg
    assert "\n" not in msg
    if limit != "max_activation":  # checked before anything is built; activations only show in the dry run
        assert elapsed < 1.0, f"{case}: {elapsed:.2f} s"


@pytest.mark.parametrize("case", ERRORS)
def test_bad_configs_give_one_config_error_naming_the_place(case, tmp_path):
    cfg, match = ERRORS[case]
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=match) as e:
        build(cfg, tmp_path)
    assert "\n" not in str(e.value)
    assert time.perf_counter() - t0 < 30.0  # found while building or dry-running, as a ConfigError, not a hang


def test_activation_growth_is_refused_in_the_dry_run():
    up = [-1, 1, "nn.Upsample", [None, 4, "nearest"]]
    d = {"nc": 1, "backbone": [[-1, 1, "Conv", [16, 3, 2]], up, up, up], "head": [[-1, 1, "Detect", ["nc"]]]}
    with (
        override_limits(max_activation=1_000_000),
        pytest.raises(LimitError, match=r"layer 1 \(nn.Upsample\).*1,048,576"),
    ):
        build_model(d)


def test_limits_are_raised_by_environment_or_context(monkeypatch):
    big = n_with("backbone", 2, [-1, 200, "C3", [128]], depth_multiple=1.0)
    with pytest.raises(LimitError, match="max_repeats"):
        build_model(big)
    monkeypatch.setenv("YOLO_GHOST_MAX_REPEATS", "1e3")
    assert current_limits().max_repeats == 1000
    monkeypatch.delenv("YOLO_GHOST_MAX_REPEATS")
    with override_limits(max_params=1000), pytest.raises(LimitError, match=r"parameter count 1,87\d,\d+ exceeds"):
        build_model("yolov5n.yaml")
    monkeypatch.setenv("YOLO_GHOST_MAX_PARAMS", "lots")
    with pytest.raises(ConfigError, match="YOLO_GHOST_MAX_PARAMS='lots'"):
        current_limits()


def test_every_shipped_config_is_within_the_limits():
    lim = current_limits()
    for p in shipped_configs():
        assert p.stat().st_size < lim.max_file_bytes / 8, p  # a wide margin, not a near miss


@pytest.mark.parametrize("case", ["n: 1000000000", "billion laughs in args", "10 MB file"])
def test_commands_print_one_line_and_exit_2(case, tmp_path, capsys):
    cfg, limit = LIMITS[case]
    p = tmp_path / "bad.yaml"
    p.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    for argv in (["profile", "--cfg", str(p), "--img", "64"], ["export", "--cfg", str(p), "--img", "64"]):
        assert cli(argv) == 2, argv
        out = capsys.readouterr().err.strip()  # refusals go to stderr
        assert out.startswith("error: ") and out.count("\n") == 0 and limit in out, (argv, out)


def test_bounded_fuzz_of_the_shipped_configs_has_no_escapes():
    """200 seeded mutations of the small shipped configs (values, rows, modules, keys, scales and raw text)."""
    small = [p for p in shipped_configs() if not any(s in p.name for s in ("yolov5m", "yolov5l", "yolov5x", "yolov5s"))]
    report = run_fuzz(200, seed=12, timeout_s=20, configs=small)
    assert report.cases == 200 and report.escapes == [], report.escapes
    assert report.built > 20 and report.refused > 80  # both outcomes are exercised
    assert report.slowest_s < 20
