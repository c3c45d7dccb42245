"""The command-line tool: one parser per command with examples, one error line and status 2 for every refusal, the
root scripts as the same commands, the dataset and checkpoint refusals of train and bench, and the installed entry
point."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import torch
from test_checkpoint import crafted
from toy_data import make_dataset

import yolo_ghost
from yolo_ghost.__main__ import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
# Commands that read a model config, with the flags that make them otherwise runnable.
CONFIG_COMMANDS = {
    "train": ["--epochs", "1", "--img", "64"],
    "export": ["--img", "64"],
    "bench": ["--epochs", "1", "--img", "64"],
    "profile": ["--img", "64"],
    "train-cls": ["--epochs", "1", "--img", "32"],
}
TRAIN_FAST = ["--epochs", "1", "--img", "64", "--batch-size", "2", "--workers", "0"]


def one_error_line(capsys) -> str:
    """The single line a refusal printed on stderr (fails when there are more, or none)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def dirs(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_of_every_command_names_its_examples(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: yolo-ghost {command}" in text and "examples:" in text
    examples = text.split("examples:", 1)[1]
    assert f"yolo-ghost {command} " in examples  # the examples are of this command


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert all(name in text for name in COMMANDS)


@pytest.mark.parametrize("command", list(CONFIG_COMMANDS))
def test_bad_config_is_one_error_line_and_status_2(command, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    head = "ClassifyHead" if command == "train-cls" else "Detect"
    bad.write_text(f"nc: 2\nbackbone:\n  - [-1, 1, GhostBotleneck, [64]]\nhead:\n  - [-1, 1, {head}, [nc]]\n")
    argv = [command, "--cfg", str(bad), *CONFIG_COMMANDS[command]]
    if command in ("train", "bench"):
        argv += ["--data", str(make_dataset(tmp_path / "d", n_train=2, n_val=1))]
    if command in ("train", "bench", "train-cls"):
        argv += ["--project", str(tmp_path / "runs")]
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert "GhostBotleneck" in line and "GhostBottleneck" in line, line  # names the row and suggests the fix
    runs = tmp_path / "runs"
    assert not runs.exists() or dirs(runs) == []  # no run folder left by a refused run


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--cfg", "yolov5n.yaml", "--epochs", "two"], "--epochs: invalid int value: 'two'"),
        (["export", "--cfg", "yolov5n.yaml", "--bogus"], "unrecognized arguments: --bogus"),
        (["val"], "the following arguments are required: --weights"),
        (["no-such-command"], "invalid choice: 'no-such-command'"),
        (["train"], "--cfg is required (or --resume)"),
        (["export", "--weights", "missing.pt"], "'missing.pt' not found"),
    ],
)
def test_bad_flags_and_missing_files_are_one_error_line(argv, expected, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse refusals exit from the parser
        code = e.code
    assert code == 2
    assert expected in one_error_line(capsys)


def _flags(help_text: str) -> set[str]:
    return {w.strip("[],") for w in help_text.split() if w.startswith(("--", "[--"))}


@pytest.mark.parametrize(
    ("script", "command"),
    [("train_det", "train"), ("val_det", "val"), ("train_cls", "train-cls"), ("detect", "predict")],
)
def test_root_scripts_are_the_same_commands(script, command, capsys):
    mod = importlib.import_module(script)
    with pytest.raises(SystemExit) as e:
        mod.main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: {script}.py")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    flags = _flags(capsys.readouterr().out)
    assert len(flags) > 8 and _flags(text) == flags  # the same flags: one definition for both
    with pytest.raises(SystemExit) as e:  # a flag without its value: the parser refuses
        mod.main(["--weights"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{script}.py: error: ") and "\n" not in err, err


def test_train_on_a_dataset_without_labels_is_refused_in_one_line(tmp_path, capsys):
    data = make_dataset(tmp_path / "d", n_train=4, n_val=2)
    shutil.rmtree(tmp_path / "d" / "labels")
    runs = tmp_path / "runs"
    assert main(["train", "--cfg", "yolov5n.yaml", "--data", str(data), *TRAIN_FAST, "--project", str(runs)]) == 2
    line = one_error_line(capsys)
    assert "No labels found" in line and "labels/train/0.txt" in line and "http" not in line, line
    assert not runs.exists() or dirs(runs) == []  # the run folder the trainer made is gone


def test_train_with_every_image_corrupt_is_refused_with_the_real_reason(tmp_path, capsys):
    data = make_dataset(tmp_path / "d", n_train=3, n_val=2)
    for p in (tmp_path / "d" / "images" / "train").iterdir():
        p.write_bytes(b"")  # zero bytes, as a failed download leaves them
    runs = tmp_path / "runs"
    assert main(["train", "--cfg", "yolov5n.yaml", "--data", str(data), *TRAIN_FAST, "--project", str(runs)]) == 2
    line = one_error_line(capsys)
    assert "every image was skipped as corrupt" in line and "cannot identify image file" in line, line
    assert "pi_heif" not in line
    assert not runs.exists() or dirs(runs) == []


def test_a_skipped_image_reports_the_real_decode_failure(tmp_path):
    """The loader's own per-image check, as the trainer runs it after ``prepare_offline``."""
    from ultralytics.data.utils import verify_image_label

    from yolo_ghost.engine.trainer import prepare_offline

    prepare_offline()
    label = tmp_path / "0.txt"
    label.write_text("0 0.5 0.5 0.2 0.2\n")
    for name, content in (("empty.jpg", b""), ("text.jpg", b"this is not an image\n")):
        image = tmp_path / name
        image.write_bytes(content)
        result = verify_image_label((str(image), str(label), "", False, 2, 0, 0, False))
        msg = result[-1]
        assert result[0] is None and "cannot identify image file" in msg and name in msg, msg
        assert "pi_heif" not in msg


def _finished_run(project: Path) -> Path:
    run = project / "exp"
    (run / "weights").mkdir(parents=True)
    model = yolo_ghost.build_model("yolov5n.yaml", nc=2).half()
    torch.save({"model": model, "epoch": -1, "train_args": {"epochs": 3, "imgsz": 64}}, run / "weights" / "last.pt")
    return run


def test_resume_of_a_finished_run_is_refused_and_leaves_no_folder(tmp_path, capsys):
    runs = tmp_path / "runs"
    run = _finished_run(runs)
    before = dirs(runs)
    for argv in (["--resume", str(run)], ["--resume"]):  # the given run, or the newest under --project
        assert main(["train", *argv, "--project", str(runs)]) == 2
        line = one_error_line(capsys)
        assert "finished its 3 epochs, nothing to resume" in line and "--weights" in line, line
        assert dirs(runs) == before


def test_train_refuses_an_unsafe_weights_file_unless_trusted(tmp_path, capsys):
    data = make_dataset(tmp_path / "d", n_train=2, n_val=1)
    path, marker = crafted(tmp_path, "zip")
    runs = tmp_path / "runs"
    argv = ["train", "--cfg", "yolov5n.yaml", "--data", str(data), *TRAIN_FAST, "--project", str(runs)]
    assert main([*argv, "--weights", str(path)]) == 2
    line = one_error_line(capsys)
    assert "posix.system" in line and "--trust-checkpoint" in line, line
    assert not marker.exists() and (not runs.exists() or dirs(runs) == [])
    with pytest.raises(Exception):  # noqa: B017  (trusted: the payload runs, and what it returns is no model)
        main([*argv, "--weights", str(path), "--trust-checkpoint"])
    assert marker.exists()


def test_bench_refuses_an_unsafe_weights_file_before_making_its_folder(tmp_path, capsys):
    path, marker = crafted(tmp_path, "zip")
    runs = tmp_path / "runs"
    assert main(["bench", "--cfg", "yolov5n.yaml", "--weights", str(path), "--project", str(runs)]) == 2
    line = one_error_line(capsys)
    assert "posix.system" in line and "--trust-checkpoint" in line, line
    assert not marker.exists() and not runs.exists()
    argv = ["bench", "--cfg", "yolov5n.yaml", "--weights", str(path), "--project", str(runs), "--trust-checkpoint"]
    assert main(argv) == 2  # trusted: the payload runs; the file then holds no model, refused in one line
    assert "holds no model" in one_error_line(capsys)
    assert marker.exists() and not runs.exists()


def _python_path_of_this_environment() -> list[str]:
    """The site-packages of the interpreter running the tests (torch, ultralytics), not its editable yolo-ghost."""
    return sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


@pytest.mark.slow  # building and installing the wheel takes over 20 s on a small machine (see the README)
def test_train_help_after_a_regular_install(tmp_path):
    """Build a wheel, install it (not editable) into a fresh venv and run its ``yolo-ghost`` script from elsewhere.

    The venv sees this environment's packages (torch, ultralytics) through a .pth file; the editable install's own
    .pth hooks are not processed from there, so ``yolo_ghost`` is the wheel's."""
    wheels = tmp_path / "wheels"
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    pip = [sys.executable, "-m", "pip"]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "YOLO_OFFLINE": "1"}
    subprocess.run(
        [*pip, "wheel", "--no-deps", *isolation, "-q", "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("yolo_ghost-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "outer_env.pth").write_text("\n".join(_python_path_of_this_environment()) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import yolo_ghost; print(yolo_ghost.__file__)"],
        capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr[-2000:]
    assert where.stdout.strip().startswith(site), where.stdout  # the installed wheel, not the checkout
    out = subprocess.run(
        [str(venv / "bin" / "yolo-ghost"), "train", "--help"],
        capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("usage: yolo-ghost train") and "examples:" in out.stdout and "--cfg" in out.stdout
    configs = subprocess.run(
        [str(venv / "bin" / "yolo-ghost"), "configs"], capture_output=True, text=True, cwd=elsewhere, env=env
    )
    assert "yolov5n-ghost.yaml" in configs.stdout and site in configs.stdout  # shipped configs inside the wheel


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse exits from the parser
        return int(e.code or 0)


def test_an_abbreviated_flag_is_refused_not_guessed(capsys):
    assert _exit_code(["train", "--cfg", "yolov5n.yaml", "--epoch", "3"]) == 2
    assert "unrecognized arguments: --epoch 3" in one_error_line(capsys)


def test_key_value_arguments_are_refused_with_the_flag_form(capsys):
    assert _exit_code(["train", "model=x.yaml", "epochs=3", "imgsz=320"]) == 2
    assert "not key=value arguments: --cfg x.yaml --epochs 3 --img 320" in one_error_line(capsys)


def test_an_image_size_off_the_stride_is_rounded_up_with_a_warning(capsys):
    assert main(["profile", "--cfg", "yolov5n.yaml", "--img-size", "321", "--summary"]) == 0
    out, err = capsys.readouterr()
    assert "warning: --img 321 is not a multiple of the largest stride 32; using 352" in err
    assert "comparison at 352x352" in out


def test_version_is_the_packages(capsys):
    from importlib.metadata import version

    assert _exit_code(["--version"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"yolo-ghost {yolo_ghost.__version__}"
        == f"yolo-ghost {version('yolo-ghost')}"
    )


def test_blocks_describes_one_block_or_refuses_with_the_closest_names(capsys):
    assert main(["blocks", "GhostBottleneck"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("GhostBottleneck") and "YAML args  [c2, k=3, s=1]" in out and "class " in out
    assert main(["blocks", "GhostBotleneck"]) == 2
    assert "did you mean 'GhostBottleneck'" in one_error_line(capsys)


def test_config_names_a_path_or_at_most_three_close_names(capsys):
    assert main(["profile", "--cfg", "./nothere/my.yaml"]) == 2
    assert one_error_line(capsys) == "error: model config './nothere/my.yaml': file not found"
    assert main(["profile", "--cfg", "yolov5n-gost.yaml"]) == 2
    line = one_error_line(capsys)
    assert "did you mean yolov5n-ghost.yaml" in line and line.count(".yaml") <= 4  # the name given and 3 matches


def test_configs_lists_the_stock_configs_it_builds_with_their_origin(capsys):
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    stock = out.split("# stock ultralytics", 1)[1].splitlines()
    row = next(line for line in stock if line.startswith("yolov8n.yaml "))
    assert row.split()[1] == "v8/yolov8.yaml"
    assert yolo_ghost.build_model("yolov8n.yaml", nc=2)(torch.zeros(1, 3, 64, 64)) is not None


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_help_line_is_true_for_its_command(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "see above" not in text
    if command != "train":
        assert "DDP" not in text  # only `train` takes several GPUs
    if command == "bench":
        assert "last.pt" not in text  # a bench is resumed from its folder
    if "--device" in text:
        assert "the first CUDA device if there is one, else the CPU" in text
