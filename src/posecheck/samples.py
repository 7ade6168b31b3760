"""Sample clips: the manifest in ``sample_videos/manifest.yaml`` and fetching the files it lists.

The repository holds no footage. `fetch` gets each clip from a local mirror folder (given, or
``../shared/videos`` found beside the checkout) or downloads it from its pinned URL, and checks its sha256
before putting it in place, so a half-written or altered file never ends up looking like a sample.
A mirror copy may be the original file or the project's re-encoded copy: either checksum is accepted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posecheck.errors import InputError

log = logging.getLogger(__name__)

#: The checkout this module runs from (src/posecheck/samples.py -> repository root), if it runs from one.
REPO_ROOT = Path(__file__).resolve().parents[2]
_IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "sample_videos" / "manifest.yaml").is_file()
#: A checkout (or editable install) reads the manifest people edit; a wheel carries a copy inside the
#: package (put there by setup.py's build step), so that `posecheck samples` works without a checkout.
MANIFEST_PATH = (REPO_ROOT / "sample_videos" / "manifest.yaml" if _IN_CHECKOUT
                 else Path(str(resources.files("posecheck") / "sample_videos" / "manifest.yaml")))
#: Where a checkout finds its mirror automatically: the shared folder placed beside the repository.
DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "videos" if _IN_CHECKOUT else None
DOWNLOAD_TIMEOUT_SECONDS = 60
_CHUNK = 1 << 20


class Sample(BaseModel):
    """One clip of the manifest (see the manifest's header for the fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    exercise: str
    url: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(gt=0)
    mirror_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    expected_reps: int | None = None
    expected_hold: tuple[float, float] | None = None
    notes: str | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.mp4"

    @property
    def accepted_checksums(self) -> frozenset[str]:
        return frozenset(c for c in (self.sha256, self.mirror_sha256) if c)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int
    license: str
    samples: list[Sample]

    def select(self, names: Iterable[str] | None) -> list[Sample]:
        """The samples named (all when ``names`` is empty); InputError for an unknown name."""
        names = list(names or [])
        if not names:
            return list(self.samples)
        by_name = {s.name: s for s in self.samples}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise InputError(f"unknown sample {', '.join(unknown)} (known: {', '.join(by_name)})")
        return [by_name[n] for n in names]


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Reads and validates the manifest (default: the checkout's ``sample_videos/manifest.yaml``, else the installed copy)."""
    path = Path(path) if path else MANIFEST_PATH
    if not path.is_file():
        raise InputError(f"sample manifest {path} not found")
    try:
        return Manifest.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()
        raise InputError(f"{path}: invalid sample manifest ({'; '.join(first[:3])})") from exc


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def find_mirror() -> Path | None:
    """``../shared/videos`` beside the checkout, if posecheck runs from a checkout and that folder exists."""
    return DEFAULT_MIRROR if DEFAULT_MIRROR is not None and DEFAULT_MIRROR.is_dir() else None


def default_dest() -> Path:
    """Where fetched samples go by default: ``samples/`` in posecheck's user cache folder."""
    from posecheck.estimators.model import cache_dir

    return cache_dir() / "samples"


@dataclass(frozen=True)
class FetchResult:
    sample: Sample
    path: Path
    how: str  # "present" (already there and verified), "mirror" (copied) or "download"


def fetch(
    samples: Iterable[Sample],
    dest: str | Path,
    *,
    mirror: str | Path | None = None,
    mirror_optional: bool = False,
) -> list[FetchResult]:
    """Puts each sample in ``dest``, verified, and says where it came from.

    Args:
        samples: what to fetch.
        dest: destination folder (created if needed).
        mirror: a folder holding ``<name>.mp4`` copies, or None to download.
        mirror_optional: False (a mirror the user named): a missing or mismatching copy is an error.
            True (a mirror found automatically): such a sample is downloaded instead.

    Raises:
        InputError: one line naming the sample and the problem (network, checksum, disk).
    """
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    results = []
    for sample in samples:
        target = dest / sample.filename
        if target.is_file() and sha256_of(target) in sample.accepted_checksums:
            results.append(FetchResult(sample, target, "present"))
            continue
        if mirror is not None and not (mirror_optional and not _usable_mirror_copy(sample, Path(mirror))):
            _copy_from_mirror(sample, Path(mirror), target)
            results.append(FetchResult(sample, target, "mirror"))
        else:
            _download(sample, target)
            results.append(FetchResult(sample, target, "download"))
    return results


def _usable_mirror_copy(sample: Sample, mirror: Path) -> bool:
    source = mirror / sample.filename
    if not source.is_file():
        return False
    if sha256_of(source) not in sample.accepted_checksums:
        log.warning("%s: ignoring %s, whose checksum matches neither known one", sample.name, source)
        return False
    return True


def _copy_from_mirror(sample: Sample, mirror: Path, target: Path) -> None:
    source = mirror / sample.filename
    if not source.is_file():
        raise InputError(f"{sample.name}: {source} not found in the mirror folder")
    digest = sha256_of(source)
    if digest not in sample.accepted_checksums:
        raise InputError(f"{sample.name}: {source} has sha256 {digest[:12]}..., which matches neither known checksum")
    _atomic_write(target, lambda fh: _copy_file(source, fh))


def _copy_file(source: Path, out) -> None:
    with source.open("rb") as fh:
        shutil.copyfileobj(fh, out, _CHUNK)


def _download(sample: Sample, target: Path) -> None:
    def write(out) -> None:
        try:
            with urllib.request.urlopen(sample.url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
                shutil.copyfileobj(response, out, _CHUNK)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise InputError(
                f"{sample.name}: download from {sample.url} failed ({reason}); "
                "without network, pass --mirror DIR with local copies"
            ) from exc

    def verify(tmp: Path) -> None:
        digest = sha256_of(tmp)
        if digest != sample.sha256:
            raise InputError(
                f"{sample.name}: downloaded file has sha256 {digest[:12]}..., expected {sample.sha256[:12]}... "
                "(the file was not kept)"
            )

    _atomic_write(target, write, verify)


def _atomic_write(target: Path, write, verify=None) -> None:
    """Writes to a temporary file beside ``target`` and moves it in place only if ``verify`` passes."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise InputError(f"cannot write to {target.parent}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        if verify:
            verify(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
