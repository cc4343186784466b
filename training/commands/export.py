"""``export <recipe>``: a trained embedding, liveness or attribute model to TFLite + model store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.commands.common import Subcommands, add_force_option, check_targets

SFACE_INPUT = {
    "name": "image",
    "shape": [1, 112, 112, 3],
    "dtype": "float32",
    "color": "RGB",
    "range": "0-255",
}


def _check_target(args: argparse.Namespace) -> None:
    """The export's name, ``--output`` and manifest (see :func:`check_targets`), and that the
    checkpoint's run (when it records one) trained this recipe."""
    from training.errors import TrainingError
    from training.recipes.runner import recorded_settings

    check_targets([(args.name, args.version)], [args.output], args.manifest_dir, args.force)
    recipe = recorded_settings(args.checkpoint).get("recipe")
    if recipe is not None and recipe != args.recipe:
        raise TrainingError(f"{args.checkpoint} is from a {recipe} run, not a {args.recipe} run")


def _export_embedding(args: argparse.Namespace) -> dict[str, Any]:
    _check_target(args)
    from training.checkpoints import load_checkpoint
    from training.data.folders import load_images, scan_image_folder
    from training.embedder import embed, embedder_of
    from training.export import export_model
    from training.thresholds import far_table_params

    folder = scan_image_folder(args.thresholds_images, min_per_class=1)  # before the model
    embedder = embedder_of(load_checkpoint(args.checkpoint))
    size = int(embedder.inputs[0].shape[1])
    params: dict[str, Any] = {"embedding_size": int(embedder.output.shape[-1])}
    vectors = embed(embedder, load_images(folder.paths, size=(size, size)))
    params.update(far_table_params(vectors, folder.labels))
    return export_model(
        embedder,
        args.output,
        args.name,
        args.version,
        "embedding",
        description=f"MobileFaceNet-style embedding trained with python -m training "
        f"({args.checkpoint})",
        input_spec={**SFACE_INPUT, "shape": [1, size, size, 3]},
        params=params,
        manifest_dir=args.manifest_dir,
        cache_dir=args.cache_dir,
        output_name="embedding",
    )


def _export_liveness(args: argparse.Namespace) -> dict[str, Any]:
    _check_target(args)
    from training.recipes.liveness import export_liveness

    return export_liveness(
        args.checkpoint,
        args.output,
        args.name,
        args.version,
        args.variant,
        args.crop_scale,
        args.manifest_dir,
        args.cache_dir,
    )


def _export_attributes(args: argparse.Namespace) -> dict[str, Any]:
    _check_target(args)
    from training.recipes.attributes import export_attributes

    return export_attributes(
        args.checkpoint, args.output, args.name, args.version, args.manifest_dir, args.cache_dir
    )


def _export_attribute_head(args: argparse.Namespace) -> dict[str, Any]:
    _check_target(args)
    from training.recipes.attribute_head import export_head

    return export_head(
        args.checkpoint,
        args.output,
        args.name,
        args.version,
        args.embedding_model,
        args.manifest_dir,
        args.cache_dir,
    )


def _export_emotion(args: argparse.Namespace) -> dict[str, Any]:
    _check_target(args)
    from training.recipes.emotion import export_emotion

    return export_emotion(
        args.checkpoint, args.output, args.name, args.version, args.manifest_dir, args.cache_dir
    )


def _export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, help="run folder or .keras")
    parser.add_argument("--name", required=True, help="model name for the manifest")
    parser.add_argument("--version", default="1")
    parser.add_argument("--output", type=Path, required=True, help="the .tflite to keep")
    parser.add_argument("--manifest-dir", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    add_force_option(parser)


def add_export(commands: Subcommands) -> None:
    """``export`` with one subcommand per exportable recipe."""
    from training.models.minifasnet import ARCHITECTURES

    export = commands.add_parser("export", help="export to TFLite + model store").add_subparsers(
        dest="recipe", required=True
    )
    emb_export = export.add_parser("embedding", help="the embedder of an embedding run")
    emb_export.add_argument("--checkpoint", type=Path, required=True)
    emb_export.add_argument("--name", required=True, help="model name for the manifest")
    emb_export.add_argument("--version", default="1")
    emb_export.add_argument("--output", type=Path, required=True, help="the .tflite to keep")
    emb_export.add_argument(
        "--thresholds-images",
        type=Path,
        required=True,  # without its FAR table the embedding service refuses the model
        help="aligned faces, folder per identity (100k+ impostor pairs): measures the FAR "
        "1e-3/1e-4/1e-5 thresholds the embedding service requires",
    )
    emb_export.add_argument("--manifest-dir", type=Path, default=None)
    emb_export.add_argument("--cache-dir", type=Path, default=None)
    add_force_option(emb_export)
    emb_export.set_defaults(handler=_export_embedding)

    live_export = export.add_parser("liveness", help="the classifier of a liveness run")
    _export_options(live_export)
    live_export.add_argument(
        "--variant",
        choices=sorted(ARCHITECTURES),
        default=None,
        help="the architecture trained (default: the run's, else MiniFASNetV2)",
    )
    live_export.add_argument(
        "--crop-scale",
        type=float,
        default=None,
        help="face-box scale of the crops (default: the published model's manifest value)",
    )
    live_export.set_defaults(handler=_export_liveness)

    attrs_export = export.add_parser("attributes", help="the model of an attribute run")
    _export_options(attrs_export)
    attrs_export.set_defaults(handler=_export_attributes)

    head_export = export.add_parser(
        "attribute-head", help="the age + gender head of an attribute-head run"
    )
    _export_options(head_export)
    head_export.add_argument(
        "--embedding-model", default="sface", help="the store model whose vectors it reads"
    )
    head_export.set_defaults(handler=_export_attribute_head)

    emotion_export = export.add_parser("emotion", help="the classifier of an emotion run")
    _export_options(emotion_export)
    emotion_export.set_defaults(handler=_export_emotion)
