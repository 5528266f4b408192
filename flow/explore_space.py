"""The search space of ``ttfs explore``: the searched dimensions, their values, and the
points of the grid they span.

A point fixes one value per dimension; its training part (regularizer, ``gamma2``) names
the training run it needs, its quantization part (weight bits, time steps K) and its core
part (lanes, SRAM bank size) name the integer network and the core the energy report
prices. Several points share one training when they differ only in the other parts.

A space comes from keyword arguments, a JSON or TOML file (one key per dimension, a list
of values or one value), or both (the keyword arguments win), and is checked value by
value with the same rules as the stage configs, so a bad value is a one-line error before
anything runs.
"""
import json
import math
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from model.regularizer import REGULARIZERS

from .quantize_stage import QuantizeConfig

__all__ = ["DIMENSIONS", "TRAINING", "SearchSpace", "Point", "load_space"]

#: The searched dimensions, in the order of the table, with what each sets.
DIMENSIONS = {
    "reg": "sparse-firing regularizer of the training (none, m-ssr, f-ssr, vhat)",
    "gamma2": "weight of the regularizer (ignored for none)",
    "energy_weight": "weight of the estimated digital energy in the training loss, per uJ",
    "input_threshold": "pixels below it never spike (training and integer encoding)",
    "weight_bits": "signed weight width of the integer network",
    "steps": "time steps K of the integer network",
    "prune": "what quantization removes: none, inputs (never lit or unconnected), dead "
             "(hidden neurons that never fire on the training set), both",
    "lanes": "neurons per core word (the core's parallelism)",
    "bank_bytes": "largest SRAM bank the core's memories are built from, in bytes",
}
#: The values of ``prune``: (drop inputs, drop dead hidden neurons) of each.
PRUNING = {"none": (False, False), "inputs": (True, False), "dead": (False, True),
           "both": (True, True)}
#: The dimensions of the training, in the order of a ``trainings`` entry.
TRAINING = ("reg", "gamma2", "energy_weight", "input_threshold")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_values(name, values):
    """Raise ``ValueError`` unless every value of dimension ``name`` is valid."""
    if name == "reg":
        bad = [v for v in values if v not in REGULARIZERS]
        expected = f"among {', '.join(REGULARIZERS)}"
    elif name in ("gamma2", "energy_weight"):
        bad = [v for v in values if not (_is_number(v) and v >= 0)]
        expected = "numbers >= 0"
    elif name == "input_threshold":
        bad = [v for v in values if not (_is_number(v) and 0 <= v <= 1)]
        expected = "numbers in [0, 1]"
    elif name in ("weight_bits", "steps"):
        bad = []
        for v in values:
            try:
                if not _is_int(v):
                    raise TypeError
                QuantizeConfig(**{name: v})
            except (TypeError, ValueError):
                bad.append(v)
        expected = ("integers in [2, 16]" if name == "weight_bits"
                    else "integers in [2, 65536]")
    elif name == "prune":
        bad = [v for v in values if v not in PRUNING]
        expected = f"among {', '.join(PRUNING)}"
    elif name == "lanes":
        bad = [v for v in values if not (_is_int(v) and 1 <= v <= 64)]
        expected = "integers in [1, 64]"
    else:
        bad = [v for v in values if not (_is_int(v) and v >= 1)]
        expected = "positive integers"
    if bad:
        raise ValueError(f"{name} must be {expected}, not {bad[0]!r}")


@dataclass(frozen=True)
class SearchSpace:
    """The values searched per dimension (see :data:`DIMENSIONS`); each member is a tuple of
    distinct values (a single value or a list is accepted and made a tuple).

    ``trainings``, when given, lists the trainings as (regularizer, ``gamma2``,
    ``energy_weight``, ``input_threshold``) entries, the last two optional (0), instead of
    every combination of those dimensions (for example the trainings of finished runs).

    Raises
    ------
    ValueError
        for an empty, repeated or invalid value, naming the dimension.
    """

    reg: tuple = ("none", "m-ssr", "f-ssr")
    gamma2: tuple = (0.01, 0.1)
    energy_weight: tuple = (0.0,)
    input_threshold: tuple = (0.0,)
    weight_bits: tuple = (8,)
    steps: tuple = (64,)
    prune: tuple = ("none",)
    lanes: tuple = (8,)
    bank_bytes: tuple = (8192,)
    trainings: tuple = None

    def __post_init__(self):
        if self.trainings is not None:
            object.__setattr__(self, "trainings", _pairs(self.trainings))
        for name in DIMENSIONS:
            values = getattr(self, name)
            values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
            if not values:
                raise ValueError(f"{name} needs at least one value")
            _check_values(name, values)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} repeats a value: {list(values)}")
            object.__setattr__(self, name, values)

    @classmethod
    def from_values(cls, values, *, source="space"):
        """A space from a dict of dimension -> value(s); missing dimensions keep their
        defaults. Errors are prefixed with ``source`` (the file they came from)."""
        if not isinstance(values, dict):
            raise ValueError(f"{source}: expected a table of dimensions "
                             f"({', '.join(DIMENSIONS)}), not {type(values).__name__}")
        unknown = [key for key in values if key not in (*DIMENSIONS, "trainings")]
        if unknown:
            raise ValueError(f"{source}: unknown dimension {unknown[0]!r}: expected "
                             f"{', '.join(DIMENSIONS)} or trainings")
        if "trainings" in values and set(TRAINING) & set(values):
            raise ValueError(f"{source}: give trainings or {', '.join(TRAINING)}, not both")
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    def to_json(self):
        values = {name: list(getattr(self, name)) for name in DIMENSIONS}
        if self.trainings is not None:
            values["trainings"] = [list(entry) for entry in self.trainings]
        return values

    def training_points(self):
        """The distinct trainings, as (regularizer, ``gamma2``, ``energy_weight``,
        ``input_threshold``) tuples; ``none`` takes ``gamma2`` 0."""
        entries = self.trainings if self.trainings is not None else [
            (reg, gamma2, weight, threshold) for reg in self.reg for gamma2 in self.gamma2
            for weight in self.energy_weight for threshold in self.input_threshold]
        return tuple(dict.fromkeys(
            (reg, 0.0 if reg == "none" else float(gamma2), float(weight), float(threshold))
            for reg, gamma2, weight, threshold in entries))

    def points(self, base):
        """Every distinct point of the grid for the training config ``base``, in an order that
        interleaves the trainings (consecutive points train different networks, so trials
        running side by side rarely wait for the same training). ``none`` takes ``gamma2``
        0 whatever the space says."""
        groups = {}
        for reg, gamma2, weight, threshold in self.training_points():
            train = replace(base, reg=reg, gamma2=gamma2, energy_weight=weight,
                            input_threshold=threshold)
            groups[train] = [
                Point(reg=reg, gamma2=gamma2, energy_weight=weight, input_threshold=threshold,
                      weight_bits=bits, steps=steps, prune=prune, lanes=lanes,
                      bank_bytes=bank, train_name=_train_name(train))
                for bits in self.weight_bits for steps in self.steps for prune in self.prune
                for lanes in self.lanes for bank in self.bank_bytes]
        ordered = []
        for row in range(max(len(group) for group in groups.values())):
            ordered += [group[row] for group in groups.values() if row < len(group)]
        return ordered


def _pairs(trainings):
    """``trainings`` as a tuple of checked (regularizer, gamma2, energy_weight,
    input_threshold) entries, the last two 0 where an entry leaves them out."""
    if not isinstance(trainings, (list, tuple)) or not trainings or not all(
            isinstance(entry, (list, tuple)) and 2 <= len(entry) <= 4 for entry in trainings):
        raise ValueError(f"trainings must be a non-empty list of [regularizer, gamma2, "
                         f"energy_weight, input_threshold] entries (the last two optional), "
                         f"not {trainings!r}")
    entries = [tuple(entry) + (0.0,) * (4 - len(entry)) for entry in trainings]
    for name, column in zip(TRAINING, zip(*entries)):
        _check_values(name, column)
    return tuple((reg, *map(float, numbers)) for reg, *numbers in entries)


def _train_name(config):
    if config.reg == "none":
        name = "none"
    elif config.reg == "vhat":
        name = f"vhat{config.v_hat:g}-g{config.gamma2:g}"
    else:
        name = f"{config.reg}-g{config.gamma2:g}"
    if config.energy_weight:
        name += f"-e{config.energy_weight:g}"
    if config.input_threshold:
        name += f"-t{config.input_threshold:g}"
    return name


@dataclass(frozen=True)
class Point:
    """One point of a search: a value per dimension and the name of its training run."""

    reg: str
    gamma2: float
    energy_weight: float
    input_threshold: float
    weight_bits: int
    steps: int
    prune: str
    lanes: int
    bank_bytes: int
    train_name: str

    @property
    def name(self):
        """The trial's name (its run directory under ``trials/``)."""
        return f"{self.quant_name}_l{self.lanes}-b{self.bank_bytes}"

    @property
    def quant_name(self):
        """The name of its integer network (shared by the points that differ only in the
        core): training, weight bits, K and pruning."""
        pruned = "" if self.prune == "none" else f"-p{self.prune}"
        return f"{self.train_name}_w{self.weight_bits}-k{self.steps}{pruned}"

    def train_config(self, base):
        """The training config of this point: ``base`` with its regularizer."""
        return replace(base, reg=self.reg, gamma2=self.gamma2,
                       energy_weight=self.energy_weight, input_threshold=self.input_threshold)

    def to_json(self):
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_json(cls, values):
        return cls(**values)


def load_space(path):
    """The dict of dimension -> values in a ``.json`` or ``.toml`` file.

    Raises
    ------
    FileNotFoundError
        if the file does not exist.
    ValueError
        for another suffix or a file that does not parse, naming the file.
    """
    path = Path(path)
    if path.suffix not in (".json", ".toml"):
        raise ValueError(f"{path}: a search space is a .json or .toml file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such search-space file")
    try:
        text = path.read_text()
        values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not valid {path.suffix[1:].upper()} ({exc})") from None
    return values


def subset(points, samples, seed):
    """``samples`` of ``points`` drawn without replacement by a generator seeded with
    ``seed`` (the same draw every time), in the order of ``points``; all of them for 0."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise ValueError(f"samples must be an integer >= 0, not {samples!r}")
    if samples == 0 or samples >= len(points):
        return list(points)
    chosen = np.random.default_rng(seed).choice(len(points), size=samples, replace=False)
    return [points[i] for i in sorted(chosen)]
