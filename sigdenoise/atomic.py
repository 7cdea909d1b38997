"""Writing files so that no reader ever sees a partial one, and checking a target before slow work.

Every file sigdenoise writes goes through `replacing`: a uniquely named temporary file beside the
target (two runs never share one), renamed over the target only when it is complete, removed on
any failure, and given the mode open() would have given it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sigdenoise.errors import OutputError


def file_mode() -> int:
    """The mode open() gives a new file under the process's umask (read without changing it for
    good: os.umask can only be read by setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def nearest_existing(path: Path) -> Path:
    """`path` itself if it exists, else its nearest existing ancestor (absolute)."""
    nearest = Path(path).absolute()
    while not nearest.exists():
        nearest = nearest.parent
    return nearest


def unwritable_reason(path: Path, what: str | None = "a file", make_parents: bool = True,
                      folder_word: str = "directory") -> str | None:
    """Why `path` could not be written, or None if it can: the one check, before slow work, for a
    model file, a run folder and a denoised output. Callers raise their own typed error with it.

    what: the kind of file `path` must be ("a model file"), or None for a folder to make;
    make_parents: missing folders above it will be made (else a missing parent is the reason);
    folder_word: "directory" or "folder", as the caller's messages say it."""
    path = Path(path)
    if what is not None and path.is_dir():
        return f"is a directory, not {what}"
    if what is not None and path.exists() and not path.is_file():
        return "is not a regular file (a device, a pipe or a socket), which sigdenoise never replaces"
    parent = path if what is None else path.absolute().parent
    if not make_parents and not parent.is_dir():
        return f"no directory {path.parent} to write it in"
    nearest = nearest_existing(parent)
    if not nearest.is_dir():
        return f"{nearest} is a file, not a {folder_word}"
    if not os.access(nearest, os.W_OK | os.X_OK):
        return f"cannot write in {nearest}"
    return None


@contextmanager
def replacing(path: Path, make_parents: bool = True) -> Iterator[Path]:
    """`with replacing(out) as tmp:` write tmp; on success it is renamed over `out`, else removed.

    Only a regular file (or nothing) at `out` is replaced: a device or a pipe there is refused, not
    renamed over. An OSError on the way (a full disk, a read-only folder) is an OutputError naming
    `out`; nothing is left behind."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise OutputError(path, unwritable_reason(path, "a file"))
    tmp = None
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    except OSError as e:
        detail = e.strerror or str(e)
        raise OutputError(path, f"cannot write it ({detail})", detail) from None
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def is_leftover(name: str) -> bool:
    """Whether a file name is a `replacing` temporary (.NAME.XXXX.tmp) that a killed process left."""
    return name.startswith(".") and name.endswith(".tmp")


def write_text(path: Path, text: str) -> None:
    """Write text atomically (see `replacing`)."""
    with replacing(path) as tmp:
        tmp.write_text(text)
