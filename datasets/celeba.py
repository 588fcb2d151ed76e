"""``celeba`` / ``celeba_official``: CelebA (Liu et al.) in torchvision's layout.

Reads ``<data root>/celeba/img_align_celeba/*.jpg``, ``list_attr_celeba.txt`` (a count line, a
line of the 40 attribute names, then ``file v1 … v40`` with values ±1) and
``list_eval_partition.txt`` (``file 0|1|2``).  Images are cropped to the central 148×148
pixels of the aligned 178×218 faces and resized to 64×64 (PIL bilinear, antialiased) — the
common choice — then cached as one uint8 array, decoded once.  Labels are the 40 attributes as
0/1.  ``celeba`` uses the seed's random 90/10 train/test split; ``celeba_official`` the official
partition (train = 0, test = 2; the validation part is unused).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchbench.api import (
    CachedImages,
    DatasetError,
    LabelledDataset,
    cached_array,
    data_dir,
    datasets,
    decode_into,
    fingerprint,
    require_files,
)

SOURCE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Align&Cropped images, attribute and partition lists)"
CROP = 148


def read_attributes(path) -> tuple[list[str], list[str], np.ndarray]:
    """``(file names, attribute names, 0/1 labels (N, 40))`` from ``list_attr_celeba.txt``."""
    lines = path.read_text().splitlines()
    try:
        count = int(lines[0])
    except (IndexError, ValueError):
        raise DatasetError(f"dataset celeba: {path}: first line must be the image count") from None
    names = lines[1].split() if len(lines) > 1 else []
    rows = [line.split() for line in lines[2:] if line.strip()]
    if len(rows) != count:
        raise DatasetError(f"dataset celeba: {path} is truncated: header says {count} images, found {len(rows)}")
    bad = next((i for i, r in enumerate(rows) if len(r) != len(names) + 1), None)
    if not names or bad is not None:
        raise DatasetError(
            f"dataset celeba: {path}: line {bad + 3 if bad is not None else 2} does not have "
            f"a file name and {len(names)} values"
        )
    values = np.array([r[1:] for r in rows], dtype=np.int64)
    if not np.isin(values, (-1, 1)).all():
        raise DatasetError(f"dataset celeba: {path}: attribute values must be -1 or 1")
    return [r[0] for r in rows], names, (values > 0).astype(np.int8)


def load_face(path) -> np.ndarray:
    """Central 148×148 crop resized to 64×64, as uint8 CHW."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        left, top = (img.width - CROP) // 2, (img.height - CROP) // 2
        face = img.crop((left, top, left + CROP, top + CROP)).resize((64, 64), Image.BILINEAR)
    return np.asarray(face).transpose(2, 0, 1)


@datasets.register("celeba")
class CelebA(CachedImages, LabelledDataset):
    """CelebA faces: 202,599 colour 64×64 images, 40 binary attributes; the seed's 90/10 split."""

    title = "CelebA"

    image_shape = (3, 64, 64)
    likelihood = "gaussian"

    def __init__(self):
        folder = data_dir() / "celeba"
        attr, partition, images = (
            folder / "list_attr_celeba.txt",
            folder / "list_eval_partition.txt",
            folder / "img_align_celeba",
        )
        require_files(self.name, [images, attr, partition], SOURCE)
        files, names, self.labels = read_attributes(attr)
        self.label_names = tuple(names)
        parts = dict(line.split()[:2] for line in partition.read_text().splitlines() if line.strip())
        missing = [f for f in files if f not in parts]
        if missing:
            raise DatasetError(f"dataset {self.name}: {partition} lists no partition for {missing[0]}")
        self.partition = np.array([int(parts[f]) for f in files])
        paths = [images / f for f in files]

        def fill(out):
            decode_into(out, paths, load_face, f"dataset {self.name}")

        key = f"images_{fingerprint([attr, partition])}"
        self.pixels = cached_array("celeba", key, (len(files), 3, 64, 64), fill)


@datasets.register("celeba_official")
class CelebAOfficial(CelebA):
    """CelebA with the official partition: train = partition 0, test = partition 2."""

    @property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        return np.flatnonzero(self.partition == 0), np.flatnonzero(self.partition == 2)
