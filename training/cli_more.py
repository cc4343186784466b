"""Commands of the embedding recipe, export and compression (kept apart from cli.py's core)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SFACE_INPUT = {
    "name": "image",
    "shape": [1, 112, 112, 3],
    "dtype": "float32",
    "color": "RGB",
    "range": "0-255",
}


def _align(args: argparse.Namespace) -> dict[str, Any]:
    from training.data.align import align_tree, open_detector

    report = align_tree(args.src, args.dst, open_detector(args.cache_dir), not args.quiet)
    return {
        "aligned": report.aligned,
        "skipped_existing": report.skipped_existing,
        "no_face": len(report.no_face),
        "no_face_files": report.no_face[:50],
    }


def _split(args: argparse.Namespace) -> dict[str, Any]:
    from training.data.pairs import read_pairs
    from training.data.split import split_identities

    pairs = read_pairs(args.pairs, args.pairs_root, args.pairs_suffix)
    return split_identities(
        args.images,
        pairs,
        args.train_dir,
        args.pairs_out,
        args.train_fraction,
        args.min_images,
        args.seed,
    )


def _plot(args: argparse.Namespace) -> dict[str, Any]:
    from training.curves import plot_history

    return {"png": str(args.out), "metrics": plot_history(args.history, args.out, args.title)}


def _quantize(args: argparse.Namespace) -> dict[str, Any]:
    from services.shared.model_store import ModelStore
    from services.shared.model_store.local import register_local_model
    from services.shared.model_store.manifest import ManifestError
    from training.compression.calibration import calibration_set
    from training.compression.quantize import quantize_store_model
    from training.errors import TrainingError

    store = ModelStore(cache_dir=args.cache_dir)
    calibration = None
    if args.calibration is not None:
        kind = args.calibration_kind or args.model
        calibration = calibration_set(kind, args.calibration, args.limit, args.cache_dir)
    written = quantize_store_model(args.model, args.mode, args.output_dir, calibration, store)
    result: dict[str, Any] = {
        mode: {"output": str(path), "bytes": path.stat().st_size} for mode, path in written.items()
    }
    if args.register:
        from training.export import default_manifest_dir

        base = store.spec(args.model)
        for mode, path in written.items():
            try:
                toml = register_local_model(
                    path,
                    f"{args.model}-{mode}",
                    base.version,
                    base.task,
                    args.manifest_dir or default_manifest_dir(),
                    store.cache_dir,
                    description=f"{mode} quantization of {base.key} (python -m training quantize)",
                    license_text=base.license,
                    input_spec=base.input,
                    params=base.params,
                )
            except ManifestError as error:
                raise TrainingError(str(error)) from error
            result[mode]["manifest"] = str(toml)
    return result


def _prune(args: argparse.Namespace) -> dict[str, Any]:
    from training.compression.cifar import prune_cifar

    return prune_cifar(
        args.checkpoint,
        args.data,
        args.output,
        args.sparsity,
        args.epochs,
        args.train_per_class,
        args.test_per_class,
        args.lr,
        args.batch_size,
        not args.quiet,
    )


def _distill(args: argparse.Namespace) -> dict[str, Any]:
    from training.compression.cifar import distill_cifar

    options: dict[str, Any] = {}
    if args.student_width is not None:
        options["alpha" if args.student_arch == "mobilenetv2" else "width"] = args.student_width
    if args.student_depth is not None:
        options["depth"] = args.student_depth
    return distill_cifar(
        args.teacher,
        args.data,
        args.output,
        args.student_arch,
        options,
        args.epochs,
        args.temperature,
        args.alpha,
        args.train_per_class,
        args.test_per_class,
        args.lr,
        args.batch_size,
        not args.quiet,
    )


def _cifar_subset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True, help="the .keras to write")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-per-class", type=int, default=None)
    parser.add_argument("--test-per-class", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")


def _read_pairs(args: argparse.Namespace) -> Any:
    from training.data.pairs import read_pairs

    if args.pairs is None:
        return None
    return read_pairs(args.pairs, args.pairs_root, args.pairs_suffix)


def _train_embedding(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.embedding import EmbeddingConfig, train

    config = EmbeddingConfig(
        data_dir=args.data,
        run_dir=args.run_dir,
        loss=args.loss,
        input_size=args.input_size,
        embedding_size=args.embedding_size,
        width=args.width,
        epochs=args.epochs,
        batch_size=args.batch_size,
        identities_per_batch=args.identities_per_batch,
        learning_rate=args.lr,
        scale=args.scale,
        margin=args.margin,
        min_images=args.min_images,
        pairs=_read_pairs(args),
        resume=args.resume,
        seed=args.seed,
        progress=not args.quiet,
        teacher=args.teacher,
    )
    return train(config)


def _evaluate_embedding(args: argparse.Namespace) -> dict[str, Any]:
    from training.evaluate_embedding import evaluate_checkpoint

    pairs = _read_pairs(args)
    if pairs is None:
        from training.errors import TrainingError

        raise TrainingError("--pairs is required")
    return evaluate_checkpoint(args.model, pairs, args.input_size, args.cache_dir)


def _export_embedding(args: argparse.Namespace) -> dict[str, Any]:
    from services.shared.model_store.local import check_local_name
    from services.shared.model_store.manifest import ManifestError
    from training.checkpoints import load_checkpoint
    from training.errors import TrainingError
    from training.export import export_model
    from training.recipes.embedding import embedder_of

    try:
        check_local_name(args.name, args.version)  # before the slow part
    except ManifestError as error:
        raise TrainingError(str(error)) from error
    embedder = embedder_of(load_checkpoint(args.checkpoint))
    size = int(embedder.inputs[0].shape[1])
    params: dict[str, Any] = {"embedding_size": int(embedder.output.shape[-1])}
    if args.thresholds_images is not None:
        from training.data.folders import load_images, scan_image_folder
        from training.recipes.embedding import embed
        from training.thresholds import far_table_params

        folder = scan_image_folder(args.thresholds_images, min_per_class=1)
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


def _pairs_options(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--pairs",
        type=Path,
        required=required,
        help="LFW-format pairs (CSV img_a,img_b,same or classic pairs.txt)",
    )
    parser.add_argument(
        "--pairs-root",
        type=Path,
        default=None,
        help="folder the pair paths are relative to (default: the file's)",
    )
    parser.add_argument(
        "--pairs-suffix", default=None, help="replace image suffixes, e.g. .png for aligned crops"
    )


def add_commands(commands: Any, train: Any, evaluate: Any) -> None:
    """Register the extra commands on the top-level, ``train`` and ``evaluate`` subparsers."""
    from training.architectures import NAMES
    from training.cli import _common_train
    from training.recipes.embedding import LOSSES

    align = commands.add_parser("align", help="detect + align faces of a folder tree (112x112)")
    align.add_argument("--src", type=Path, required=True)
    align.add_argument("--dst", type=Path, required=True)
    align.add_argument("--cache-dir", type=Path, default=None, help="model cache folder")
    align.add_argument("--quiet", action="store_true")
    align.set_defaults(handler=_align)

    quantize = commands.add_parser("quantize", help="float16/int8 TFLite of a served model")
    quantize.add_argument("--model", required=True, help="manifest model name (sface, yunet...)")
    quantize.add_argument(
        "--mode",
        choices=["float16", "int8", "dynamic"],
        action="append",
        required=True,
        help="repeat for several modes",
    )
    quantize.add_argument("--output-dir", type=Path, required=True)
    quantize.add_argument(
        "--calibration",
        type=Path,
        nargs="+",
        default=None,
        help="folder(s) of real images (required for int8)",
    )
    quantize.add_argument(
        "--calibration-kind", default=None, help="preprocessing (default: the model name)"
    )
    quantize.add_argument("--limit", type=int, default=100, help="calibration images per folder")
    quantize.add_argument(
        "--register",
        action="store_true",
        help="register each result as <model>-<mode> in the model store",
    )
    quantize.add_argument("--manifest-dir", type=Path, default=None)
    quantize.add_argument("--cache-dir", type=Path, default=None)
    quantize.set_defaults(handler=_quantize)

    prune = commands.add_parser("prune", help="magnitude pruning").add_subparsers(
        dest="recipe", required=True
    )
    prune_cifar = prune.add_parser("cifar10", help="prune a CIFAR-10 checkpoint")
    prune_cifar.add_argument("--checkpoint", type=Path, required=True)
    prune_cifar.add_argument("--sparsity", type=float, default=0.5)
    prune_cifar.add_argument("--lr", type=float, default=3e-4)
    _cifar_subset(prune_cifar)
    prune_cifar.set_defaults(handler=_prune)

    distill = commands.add_parser("distill", help="knowledge distillation").add_subparsers(
        dest="recipe", required=True
    )
    distill_cifar = distill.add_parser("cifar10", help="teacher checkpoint -> smaller student")
    distill_cifar.add_argument("--teacher", type=Path, required=True)
    distill_cifar.add_argument("--student-arch", choices=NAMES, default="resnet")
    distill_cifar.add_argument("--student-width", type=float, default=None)
    distill_cifar.add_argument("--student-depth", type=int, default=None)
    distill_cifar.add_argument("--temperature", type=float, default=4.0)
    distill_cifar.add_argument("--alpha", type=float, default=0.3, help="weight of hard labels")
    distill_cifar.add_argument("--lr", type=float, default=2e-3)
    _cifar_subset(distill_cifar)
    distill_cifar.set_defaults(handler=_distill)

    plot = commands.add_parser("plot", help="training curves of a history.csv as PNG")
    plot.add_argument("--history", type=Path, required=True)
    plot.add_argument("--out", type=Path, required=True)
    plot.add_argument("--title", default="")
    plot.set_defaults(handler=_plot)

    split = commands.add_parser("split", help="identity-disjoint train set + held-out pairs")
    split.add_argument("--images", type=Path, required=True, help="folder per identity")
    split.add_argument("--train-dir", type=Path, required=True)
    split.add_argument("--pairs-out", type=Path, required=True)
    split.add_argument("--train-fraction", type=float, default=0.5)
    split.add_argument("--min-images", type=int, default=2)
    split.add_argument("--seed", type=int, default=0)
    _pairs_options(split, required=True)
    split.set_defaults(handler=_split)

    embedding = train.add_parser("embedding", help="face embedding (ArcFace/CosFace/triplet)")
    _common_train(embedding)
    embedding.add_argument("--loss", choices=LOSSES, default="arcface")
    embedding.add_argument("--input-size", type=int, default=112)
    embedding.add_argument("--embedding-size", type=int, default=128)
    embedding.add_argument("--width", type=float, default=1.0)
    embedding.add_argument("--identities-per-batch", type=int, default=8, help="triplet P")
    embedding.add_argument("--scale", type=float, default=32.0, help="margin-loss scale s")
    embedding.add_argument("--margin", type=float, default=None)
    embedding.add_argument("--min-images", type=int, default=2, help="per identity")
    embedding.add_argument(
        "--teacher", default=None, help="for --loss distill: a model name (sface) or a .tflite file"
    )
    _pairs_options(embedding)
    embedding.set_defaults(handler=_train_embedding)

    emb_eval = evaluate.add_parser("embedding", help="LFW-format pair verification")
    emb_eval.add_argument(
        "--model",
        required=True,
        help="a .keras checkpoint, a run folder, a .tflite file or a model name",
    )
    emb_eval.add_argument("--input-size", type=int, default=112)
    emb_eval.add_argument("--cache-dir", type=Path, default=None)
    _pairs_options(emb_eval, required=True)
    emb_eval.set_defaults(handler=_evaluate_embedding)

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
        default=None,
        help="aligned faces, folder per identity: measures the FAR 1e-3/1e-4/"
        "1e-5 thresholds the embedding service requires",
    )
    emb_export.add_argument("--manifest-dir", type=Path, default=None)
    emb_export.add_argument("--cache-dir", type=Path, default=None)
    emb_export.set_defaults(handler=_export_embedding)

    from training.cli_faces import add_face_recipes

    add_face_recipes(train, evaluate, export)
