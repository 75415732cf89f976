"""What ``colorize images INPUTS -o OUTPUT`` will do, decided before any photo is read: the jobs,
where and in which format their outputs go, and the refusals (outputs on inputs or on each other,
last run's confidence maps taken for inputs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from colorize_cli.confidence_maps import confidence_paths
from colorize_cli.errors import ParameterError
from colorize_cli.io.collisions import Output, check_collisions, is_tagged
from colorize_cli.io.image_io import IMAGE_EXTENSIONS, output_format
from colorize_cli.io.inputs import Job, discover, drop_outputs, output_exclusions, output_path, output_target, real_path

__all__ = ["ImagePlan", "plan_image_jobs"]


@dataclass
class ImagePlan:
    """What ``colorize images INPUTS -o OUTPUT`` will do: the jobs, the inputs that cannot be
    used (path, reason), where and in which format outputs go, and the files left out because
    they are this run's own outputs."""

    jobs: list[Job]
    errors: list[tuple[str, str]]
    out_dir: Path
    fmt: str | None
    dropped: list[Job]


def plan_image_jobs(inputs: Sequence[str], output: str | Path, fmt: str | None = None,
                    confidence_dir: Path | None = None, stdin: TextIO | None = None,
                    hints: Path | None = None, references: Sequence[Path] = ()) -> ImagePlan:
    """The jobs of ``colorize images``: ``output`` as :func:`~colorize_cli.io.inputs.output_target`
    says (one input may go to a file name with an image extension), discovery that never reads
    the output folders (nor a ``hints`` folder) back as input, and files that are other inputs' outputs left out.
    The hint files and reference photos the jobs read (``hints``, ``references``) are inputs too:
    no output may land on them. :class:`~colorize_cli.errors.ParameterError` for an ``output`` that cannot be."""
    target, is_file = output_target(inputs, output, lambda p: p.suffix.lower() in IMAGE_EXTENSIONS)
    if is_file:
        if fmt and output_format(target) != fmt:
            raise ParameterError("output", f"{target} and the format {fmt} disagree; give one of them")
        plan = ImagePlan([Job(Path(inputs[0]), Path(target.name))], [], target.parent, None, [])
    else:
        hints_dir = hints if hints is not None and Path(hints).is_dir() else None
        found = discover(inputs, stdin=stdin, exclude=output_exclusions(inputs, [target, confidence_dir, hints_dir]))
        jobs, dropped = drop_outputs(found.jobs, target, fmt)
        plan = ImagePlan(jobs, found.errors, target, fmt, dropped)
    _check_plan_outputs(plan, confidence_dir, hints, references)
    return plan


def _check_plan_outputs(plan: ImagePlan, confidence_dir: Path | None, hints: Path | None,
                        references: Sequence[Path] = ()) -> None:
    """Last run's confidence maps are never inputs; then no output of this run may land on an
    input or on another output (:func:`~colorize_cli.io.collisions.check_collisions`)."""
    outputs = [Output(output_path(j, plan.out_dir, plan.fmt), "output", f"the output of {j.src}", j.src)
               for j in plan.jobs]
    if confidence_dir is not None:
        maps = {real_path(p): j for j in plan.jobs for p in confidence_paths(j, confidence_dir)}
        ours = [j for j in plan.jobs if real_path(j.src) in maps and is_tagged(j.src)]
        plan.jobs = [j for j in plan.jobs if j not in ours]
        plan.dropped += ours
        outputs += [Output(p, "confidence", f"the confidence map of {j.src}")
                    for j in plan.jobs for p in confidence_paths(j, confidence_dir)]
    sources = [j.src for j in plan.jobs] + _steering_files(plan.jobs, [hints] if hints is not None else [], references)
    check_collisions(sources, outputs)


def _steering_files(jobs: Sequence[Job], hints: Sequence[Path], references: Sequence[Path]) -> list[Path]:
    """The hint files and reference photos ``jobs`` will read: a file as given, and in a folder
    the file each photo is matched with (by relative path and name, as ``--hints`` and
    ``--reference`` match them)."""
    from colorize_cli.steer.hints import hint_file_for

    photos = [j.src for j in jobs]
    files: list[Path] = []
    for given in map(Path, [*hints, *references]):
        if given.is_file():
            files.append(given)
        elif given.is_dir():
            files += [f for j in jobs if (f := hint_file_for(given, j.rel, photos)) is not None]
    return files
