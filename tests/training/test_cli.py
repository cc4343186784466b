"""The command tree of ``python -m training``: every command group registers its commands, in
the order ``--help`` lists them, and every runnable command has a handler."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from training.cli import build_parser, main

COMMANDS = {
    "train": ["cifar10", "embedding", "liveness", "attributes", "attribute-head", "emotion"],
    "evaluate": ["cifar10", "embedding", "liveness", "attributes"],
    "flops": [],
    "align": [],
    "attribute-features": [],
    "emotion-chips": [],
    "quantize": [],
    "prune": ["cifar10"],
    "distill": ["cifar10"],
    "plot": [],
    "epoch-times": [],
    "split": [],
    "export": ["embedding", "liveness", "attributes", "attribute-head", "emotion"],
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_in_order_with_a_handler() -> None:
    top = _subcommands(build_parser())
    tree = {name: list(_subcommands(parser)) for name, parser in top.items()}
    assert list(tree.items()) == list(COMMANDS.items())
    for name, parser in top.items():
        leaves = [parser] if not COMMANDS[name] else list(_subcommands(parser).values())
        for leaf in leaves:
            assert callable(leaf.get_default("handler")), leaf.prog


def test_recipe_defaults_override_the_common_training_options() -> None:
    parser = build_parser()
    common = ["--data", "d", "--run-dir", "r"]
    assert parser.parse_args(["train", "cifar10", *common]).batch_size == 64
    assert parser.parse_args(["train", "liveness", *common]).batch_size == 16
    assert parser.parse_args(["train", "attributes", *common]).batch_size == 32


def test_a_missing_recipe_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: recipe" in capsys.readouterr().err


def test_an_embedding_export_without_its_far_table_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The embedding service refuses a model without its FAR table, so the export asks for
    the faces that measure it before anything is loaded."""
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "embedding", "--checkpoint", "c", "--name", "n", "--output", "o.tflite"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --thresholds-images" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["train", "cifar10", "--epochs", "0"], "argument --epochs: must be a whole number >= 1"),
        (["train", "emotion", "--batch-size", "-4"], "argument --batch-size: must be a whole"),
        (["train", "liveness", "--lr", "0"], "argument --lr: must be a number > 0, got '0'"),
        (["train", "cifar10", "--lr", "nan"], "argument --lr: must be a finite number"),
        (["train", "attribute-head", "--dropout", "1"], "argument --dropout: must be >= 0 and < 1"),
        (["train", "embedding", "--input-size", "x"], "argument --input-size: must be a whole"),
        (["distill", "cifar10", "--alpha", "1.5"], "argument --alpha: must be between 0 and 1"),
        (["split", "--train-fraction", "1"], "argument --train-fraction: must be between 0 and 1"),
        (["quantize", "--limit", "0"], "argument --limit: must be a whole number >= 1"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused by argparse (exit 2, the option named) before anything is loaded, instead of a
    ZeroDivisionError or a Keras ValueError deep in the run."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert said in capsys.readouterr().err


def test_an_option_of_another_architecture_is_a_clear_error() -> None:
    from training.architectures import build
    from training.errors import TrainingError

    with pytest.raises(TrainingError, match=r"^depth does not apply to the vgg architecture$"):
        build("vgg", (32, 32, 3), 10, depth=20)


@pytest.mark.parametrize(
    "recipe", ["embedding", "liveness", "attributes", "attribute-head", "emotion"]
)
def test_an_export_never_replaces_a_file_without_force(
    recipe: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing --output (an earlier export, a committed model's source file) or manifest of
    that name is refused before any conversion; nothing is touched."""
    output, manifests = tmp_path / "kept.tflite", tmp_path / "manifests"
    output.write_bytes(b"an earlier export")
    argv = ["export", recipe, "--checkpoint", str(tmp_path / "run"), "--name", "my-model"]
    argv += ["--manifest-dir", str(manifests), "--cache-dir", str(tmp_path / "cache")]
    if recipe == "embedding":
        argv += ["--thresholds-images", str(tmp_path)]
    assert main([*argv, "--output", str(output)]) == 2
    assert f"{output} exists; pass --force to replace it" in capsys.readouterr().err
    assert output.read_bytes() == b"an earlier export"

    manifests.mkdir()
    (manifests / "my-model.toml").write_text("# an earlier export")
    assert main([*argv, "--output", str(tmp_path / "new.tflite")]) == 2
    assert "my-model.toml exists; pass --force" in capsys.readouterr().err
    assert (manifests / "my-model.toml").read_text() == "# an earlier export"
    # with --force the same line gets past the check (to the missing checkpoint or data)
    assert main([*argv, "--output", str(output), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pass --force" not in err


def test_quantize_never_replaces_a_file_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing output or manifest is refused before the calibration set is read and the
    model converted; an unknown model is one error line."""
    manifests, kept = tmp_path / "manifests", tmp_path / "yunet-float16.tflite"
    kept.write_bytes(b"an earlier quantization")
    argv = ["quantize", "--model", "yunet", "--mode", "float16", "--output-dir", str(tmp_path)]
    argv += ["--manifest-dir", str(manifests), "--calibration", str(tmp_path / "none")]
    assert main(argv) == 2
    assert f"{kept} exists; pass --force to replace it" in capsys.readouterr().err
    assert kept.read_bytes() == b"an earlier quantization"

    manifests.mkdir()
    (manifests / "yunet-int8.toml").write_text("# an earlier registration")
    other = ["--mode", "int8", "--output-dir", str(tmp_path / "new"), "--register"]
    assert main([*argv, *other]) == 2
    assert "yunet-int8.toml exists; pass --force" in capsys.readouterr().err
    assert (manifests / "yunet-int8.toml").read_text() == "# an earlier registration"
    assert not (tmp_path / "new").exists()

    # with --force the check passes and the missing calibration folder is the error
    assert main([*argv, "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: calibration folder") and "does not exist" in err

    assert main(["quantize", "--model", "no-such-model", *argv[3:]]) == 2
    assert "no-such-model" in capsys.readouterr().err
