"""A trained TTFS network as a NIR graph (Neuromorphic Intermediate Representation), and back.

NIR has no first-spike neuron, so each layer becomes nodes that the NIR readers of Norse 1.1
and snnTorch 1.0 simulate as the ramp neuron on a grid of step ``dt_s`` (docs/nir.md)::

    input -> fc1 (Linear W1) -> lif1 (CubaLIF) -> fc2 -> lif2 -> ... -> output
                                 ^           |
                                 +- relay1 <- inh1      (Linear -diag, then Linear identity)

- ``CubaLIF`` with time constants of ``TAU_S = 1e8 s`` (a leak of 1e-12 per step: it rounds
  away in float32): the synaptic current is a step per input spike and the potential its
  ramp. Both readers treat a spike as a one-step pulse of height 1 (not a Dirac), so the
  parameters follow snnTorch's own export convention ``r = tau_mem / dt_s`` and
  ``w_in = tau_syn / dt_s``: one spike of weight ``w`` raises the current by ``w`` and the
  potential by the current each step. ``v_threshold = V_th / dt`` with ``dt = t_max / steps``
  then makes ``v_k = sum_j w_j (k - k_j + 1) dt`` cross where the ramp does.
- Fire once: both readers reset to zero (they ignore ``v_reset``) while the step current
  stays on, so a neuron would fire again. The loop ``lif -> inh -> relay -> lif`` feeds each
  spike back, one step later, as a current below ``-sum_j max(w_ij, 0)``: the potential
  falls from then on. The identity ``relay`` is there because snnTorch 1.0 turns a two-node
  loop into an ``RSynaptic`` that never fires (measured); three nodes run in both readers.
- The window, threshold, step, encoding and decoding are in ``graph.metadata["ttfs"]`` (JSON).

``to_nir``/``write_nir`` export; ``read_nir``/``from_nir`` import and refuse, with a
``ValueError`` naming the node, any graph this model cannot represent.
"""
import io
import json
import math
from pathlib import Path

import nir
import numpy as np
import torch

from .files import atomic_write, write_bytes, write_text
from .network import NetworkConfig, TTFSNetwork

#: Simulation step of the readers in seconds: snnTorch 1.0's importer fixes it at 1e-4 s.
DT_S = 1e-4
#: Time constants of the CubaLIF nodes: a leak of 1e-12 per step, which float32 rounds away.
TAU_S = 1e12 * DT_S
#: Largest leak over the whole window for which a CubaLIF node counts as non-leaking.
LEAK_PER_WINDOW = 1e-6
METADATA_KEY = "ttfs"
SCHEMA_VERSION = 1
DEFAULT_STEPS = 256
ENCODING = ("pixel x in [0, 1] spikes once at step round(tau_in (1 - x) / dt); with "
            "zero_silent, pixels at x = 0 do not spike; pixels below input_threshold do not "
            "spike")
DECODING = ("first output neuron to spike, ties to the lowest index; if none spikes, the "
            "largest output potential at the end of the window")


def inhibition(weight):
    """Self-inhibition ``[n_out]`` of a layer: below ``-sum_j max(w_ij, 0)``, so that after
    a spike no later input can bring the current back above zero."""
    weight = np.asarray(weight, dtype=np.float64)
    return -(2.0 * np.maximum(weight, 0.0).sum(axis=1) + 1.0)


def _cuba_lif(n, v_threshold):
    full = lambda value: np.full(n, value, dtype=np.float64)  # noqa: E731
    return nir.CubaLIF(tau_syn=full(TAU_S), tau_mem=full(TAU_S), r=full(TAU_S / DT_S),
                       v_leak=full(0.0), v_threshold=full(v_threshold), v_reset=full(0.0),
                       w_in=full(TAU_S / DT_S))


def to_nir(network, *, steps=DEFAULT_STEPS, dataset=None):
    """The NIR graph of a :class:`model.network.TTFSNetwork` for readers stepping at
    ``dt = t_max / steps`` (``DT_S`` seconds per step). ``dataset`` goes into the metadata.

    Raises
    ------
    ValueError
        if ``steps`` is not an integer >= 2.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, not {steps!r}")
    config = network.config
    dt = config.t_max / steps
    nodes = {"input": nir.Input(input_type=np.array([config.arch[0]]))}
    edges, source = [], "input"
    for index, layer in enumerate(network.layers, 1):
        weight = layer.weight.detach().cpu().numpy().copy()
        n = weight.shape[0]
        fc, lif, inh, relay = (f"{name}{index}" for name in ("fc", "lif", "inh", "relay"))
        nodes[fc] = nir.Linear(weight=weight)
        nodes[lif] = _cuba_lif(n, config.threshold / dt)
        nodes[inh] = nir.Linear(weight=np.diag(inhibition(weight)).astype(weight.dtype))
        nodes[relay] = nir.Linear(weight=np.eye(n, dtype=weight.dtype))
        edges += [(source, fc), (fc, lif), (lif, inh), (inh, relay), (relay, lif)]
        source = lif
    nodes["output"] = nir.Output(output_type=np.array([config.arch[-1]]))
    edges.append((source, "output"))
    meta = {"schema_version": SCHEMA_VERSION, "model": "ttfs-ramp-fire-once",
            "threshold": config.threshold, "t_max": config.t_max, "tau_in": config.tau_in,
            "zero_silent": config.zero_silent, "input_threshold": config.input_threshold,
            "steps": steps, "dt": dt, "dt_s": DT_S,
            "time_unit_s": DT_S / dt, "encoding": ENCODING, "decoding": DECODING,
            "spike_convention": "one-step pulse of height 1 (Norse 1.1, snnTorch 1.0)",
            "reader_advance_steps_per_layer": 1}
    if dataset is not None:
        meta["dataset"] = dataset
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={METADATA_KEY: json.dumps(meta, sort_keys=True)})


def write_nir(graph, path):
    """Write ``graph`` to the NIR (HDF5) file ``path`` atomically; returns the path."""
    return atomic_write(path, lambda staged: nir.write(staged, graph))


def read_nir(path):
    """The NIR graph in ``path``.

    Raises
    ------
    FileNotFoundError
        if there is no such file; ValueError if it is not a NIR file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        return nir.read(path)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable NIR file ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


def metadata(graph):
    """The ``ttfs`` metadata dict of a graph written by :func:`to_nir`.

    Raises
    ------
    ValueError
        if it is missing, not JSON, or lacks a field.
    """
    text = (graph.metadata or {}).get(METADATA_KEY)
    if text is None:
        raise ValueError(f"graph has no '{METADATA_KEY}' metadata: the window, threshold and "
                         "encoding of a TTFS network are not in the graph itself")
    try:
        meta = json.loads(text.decode() if isinstance(text, bytes) else text)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(f"graph metadata '{METADATA_KEY}' is not JSON ({exc})") from None
    missing = [key for key in ("threshold", "t_max", "tau_in", "zero_silent", "steps", "dt_s")
               if key not in meta]
    if missing:
        raise ValueError(f"graph metadata '{METADATA_KEY}' lacks {', '.join(missing)}")
    return meta


def from_nir(graph):
    """The :class:`model.network.TTFSNetwork` (eval mode) a graph written by :func:`to_nir`
    describes; its weights are the graph's ``Linear`` weights, unchanged.

    Raises
    ------
    ValueError
        naming the node, for anything this model cannot represent: other node types, a
        bias, leaking or mis-scaled ``CubaLIF`` nodes, neurons without the fire-once loop,
        branches; or for missing metadata.
    """
    meta = metadata(graph)
    config = NetworkConfig(arch=(1, 1), threshold=float(meta["threshold"]),
                           t_max=float(meta["t_max"]), tau_in=float(meta["tau_in"]),
                           zero_silent=bool(meta["zero_silent"]),
                           input_threshold=float(meta.get("input_threshold", 0.0)))
    dt = config.t_max / int(meta["steps"])
    weights = []
    for fc, lif, loop in _layers(graph):
        weight = _weight(graph, fc)
        if weights and weight.shape[1] != weights[-1].shape[0]:
            raise ValueError(f"node '{fc}': {weight.shape[1]} inputs after a layer of "
                             f"{weights[-1].shape[0]} neurons")
        _check_neuron(graph.nodes[lif], lif, weight.shape[0], config, dt, float(meta["dt_s"]))
        _check_loop(graph, lif, loop, weight)
        weights.append(weight)
    if not weights:
        raise ValueError("graph has no layer: expected input -> Linear -> CubaLIF -> ... -> output")
    arch = (weights[0].shape[1],) + tuple(w.shape[0] for w in weights)
    config = NetworkConfig(arch=arch, threshold=config.threshold, t_max=config.t_max,
                           tau_in=config.tau_in, zero_silent=config.zero_silent,
                           input_threshold=config.input_threshold)
    network = TTFSNetwork(config)
    with torch.no_grad():
        for layer, weight in zip(network.layers, weights):
            layer.weight.copy_(torch.from_numpy(weight))
    return network.eval()


def _successors(graph, name):
    return [dst for src, dst in graph.edges if src == name]


def _reaches(graph, start, goal, avoid):
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node in seen or node in avoid:
            continue
        seen.add(node)
        stack.extend(_successors(graph, node))
    return False


def _kind(graph, name):
    return type(graph.nodes[name]).__name__


def _layers(graph):
    """``[(fc, lif, loop nodes)]`` along the chain from the input node to the output node."""
    for name, node in graph.nodes.items():
        if not isinstance(node, (nir.Input, nir.Output, nir.Linear, nir.Affine, nir.CubaLIF)):
            raise ValueError(f"node '{name}': nir.{type(node).__name__} cannot be represented "
                             "(a TTFS network is Linear -> CubaLIF layers with a fire-once loop)")
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"graph must have one input node, not {len(inputs)}")
    layers, current, used = [], inputs[0], {inputs[0]}
    while True:
        forward = [dst for dst in _successors(graph, current)
                   if not _reaches(graph, dst, current, avoid=set())]
        if len(forward) != 1:
            raise ValueError(f"node '{current}': expected one forward successor, not "
                             f"{len(forward)} ({', '.join(forward) or 'none'})")
        fc = forward[0]
        if isinstance(graph.nodes[fc], nir.Output):
            used.add(fc)
            break
        lif = _successors(graph, fc)
        if not isinstance(graph.nodes[fc], (nir.Linear, nir.Affine)) or len(lif) != 1 \
                or not isinstance(graph.nodes[lif[0]], nir.CubaLIF):
            raise ValueError(f"node '{fc}': expected a Linear feeding one CubaLIF, found "
                             f"nir.{_kind(graph, fc)} -> {', '.join(lif) or 'nothing'}")
        lif = lif[0]
        loop = [dst for dst in _successors(graph, lif) if _reaches(graph, dst, lif, avoid={lif})]
        layers.append((fc, lif, loop))
        used.update((fc, lif))
        used.update(_loop_path(graph, lif, loop))
        current = lif
    stray = sorted(set(graph.nodes) - used)
    if stray:
        raise ValueError(f"node '{stray[0]}': not on the input-to-output chain of layers")
    return layers


def _loop_path(graph, lif, loop):
    """The nodes of the recurrent loop of ``lif``, in order (one or two Linear nodes)."""
    if len(loop) != 1:
        raise ValueError(f"node '{lif}': needs one self-inhibiting loop to fire once, found "
                         f"{len(loop)} (NIR readers reset to zero and would fire again)")
    path = [loop[0]]
    while True:
        nxt = _successors(graph, path[-1])
        if nxt == [lif]:
            return path
        if len(nxt) != 1 or len(path) == 2:
            raise ValueError(f"node '{path[-1]}': the loop of '{lif}' must be one or two Linear "
                             "nodes leading back to it")
        path.append(nxt[0])


def _weight(graph, name):
    node = graph.nodes[name]
    if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
        raise ValueError(f"node '{name}': Affine with a non-zero bias cannot be represented "
                         "(TTFS neurons have no bias current)")
    weight = np.asarray(node.weight)
    if weight.ndim != 2 or not np.all(np.isfinite(weight)):
        raise ValueError(f"node '{name}': weight must be a finite 2-D matrix, not of shape "
                         f"{list(weight.shape)}")
    return weight


def _check_neuron(node, name, n, config, dt, dt_s):
    def field(key):
        array = np.asarray(getattr(node, key), dtype=np.float64)
        if array.shape != (n,):
            raise ValueError(f"node '{name}': {key} must have shape [{n}], not {list(array.shape)}")
        return array

    def expect(key, value, what):
        if not np.allclose(field(key), value, rtol=1e-6, atol=0.0):
            raise ValueError(f"node '{name}': {key} must be {_describe(np.asarray(value))} for "
                             f"{what}, found {_describe(field(key))}")

    expect("v_leak", np.zeros(n), "a neuron without leak")
    longest = config.t_max / dt * dt_s / LEAK_PER_WINDOW  # the window in seconds / leak
    for key in ("tau_syn", "tau_mem"):
        if not np.all(field(key) >= longest):
            raise ValueError(f"node '{name}': {key} {_describe(field(key))} s leaks; a TTFS "
                             f"neuron needs time constants >= {longest:.3g} s")
    expect("r", field("tau_mem") / dt_s, "one-step pulses at dt_s (r = tau_mem / dt_s)")
    expect("w_in", field("tau_syn") / dt_s, "one-step pulses at dt_s (w_in = tau_syn / dt_s)")
    expect("v_threshold", np.full(n, config.threshold / dt),
           f"threshold {config.threshold} at dt {dt:.6g}")


def _check_loop(graph, lif, loop, weight):
    path = _loop_path(graph, lif, loop)
    n = weight.shape[0]
    matrix = np.eye(n)
    for name in path:
        if not isinstance(graph.nodes[name], (nir.Linear, nir.Affine)):
            raise ValueError(f"node '{name}': nir.{_kind(graph, name)} in the loop of '{lif}'; "
                             "expected Linear")
        matrix = _weight(graph, name).astype(np.float64) @ matrix
    diagonal = np.diag(matrix) if matrix.shape == (n, n) else None
    if diagonal is None or np.any(matrix - np.diag(diagonal) != 0) \
            or np.any(diagonal >= -np.maximum(weight, 0.0).sum(axis=1)):
        raise ValueError(f"node '{path[0]}': the loop of '{lif}' must be a diagonal "
                         "inhibition below -sum_j max(w_ij, 0) so that each neuron fires once")


def _describe(array):
    if array.size == 0:
        return "an empty array"
    low, high = float(np.min(array)), float(np.max(array))
    return f"{low:.6g}" if math.isclose(low, high) else f"{low:.6g}..{high:.6g}"


def save_run(network, out_dir, *, dataset, source):
    """Write ``network`` as a run directory (``config.json`` + ``model.pt``) that
    :func:`model.train.load_run` and the later stages read; ``source`` is recorded in
    ``config.json`` as ``imported_from``. Returns the directory.

    Raises
    ------
    FileExistsError
        if ``out_dir`` already holds a run (nothing is overwritten).
    """
    from .train import TrainConfig  # the run format is training's

    out_dir = Path(out_dir)
    for name in ("config.json", "model.pt"):
        if (out_dir / name).exists():
            raise FileExistsError(f"{out_dir / name} exists: import into a new directory")
    c = network.config
    config = TrainConfig(dataset=dataset, arch=c.arch, threshold=c.threshold, t_max=c.t_max,
                         tau_in=c.tau_in, zero_silent=c.zero_silent,
                         input_threshold=c.input_threshold).to_json()
    config["imported_from"] = str(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(network.state_dict(), buffer)
    write_bytes(out_dir / "model.pt", buffer.getvalue())
    write_text(out_dir / "config.json", json.dumps(config, indent=2) + "\n")
    return out_dir
