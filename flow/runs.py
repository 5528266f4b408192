"""What several stages read from a run directory besides their own artifacts."""
import json
from pathlib import Path

from mapping.files import write_text


def dataset_of(run_dir, network, *, hint):
    """The data set a run was trained on: ``network.json``'s provenance, else ``config.json``;
    ``hint`` ends the error message (what the user can do instead).

    Raises
    ------
    ValueError
        if neither names one, or ``config.json`` is not valid JSON.
    """
    path = Path(run_dir) / "config.json"
    config = {}
    if path.is_file():
        try:
            config = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not valid JSON ({exc}): rerun `ttfs train`") from None
    for source in (network.meta, config if isinstance(config, dict) else {}):
        if isinstance(source.get("dataset"), str):
            return source["dataset"]
    raise ValueError(f"{run_dir}: cannot tell which data set the run was trained on (no "
                     f"'dataset' in network.json meta or config.json): {hint}")


def check_classes(network, split, dataset):
    """Raise ``ValueError`` unless ``network`` takes the images of ``split`` (every pixel, or
    the pixels its encoding selects after input pruning) and has an output neuron for every
    class of its labels (a smaller output layer can never predict some)."""
    pixels = int(split.images[0].size) if len(split.images) else 0
    selected = network.encoding.pixels
    if selected is None and network.sizes[0] != pixels:
        raise ValueError(f"the network takes {network.sizes[0]} inputs, {dataset} images have "
                         f"{pixels} pixels")
    if selected is not None and selected[-1] >= pixels:
        raise ValueError(f"the network's inputs are pixels up to {selected[-1]}, {dataset} "
                         f"images have {pixels} pixels")
    classes = int(split.labels.max()) + 1 if len(split.labels) else 0
    if network.sizes[-1] < classes:
        raise ValueError(f"the network has {network.sizes[-1]} output neurons, fewer than the "
                         f"{classes} classes of {dataset}")
def write_json(path, doc):
    """Write ``doc`` as indented JSON to ``path`` atomically (:mod:`mapping.files`);
    returns the path."""
    return write_text(path, json.dumps(doc, indent=2) + "\n")
