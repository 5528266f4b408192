"""Energy statistics shared by the digital and analog reports, and the analog neuron's
energy per inference.

The digital core is priced access by access in :mod:`hardware.digital_energy` (with the cost
tables of :mod:`hardware.costs`); this module holds what both parts share
(:class:`InferenceEnergy`, :func:`statistics`, :func:`neurobench_counts`) and the analog
neuron's model evaluation (:func:`analog_inference_energy`), whose per-event energies are
measured in SPICE. The counts are those of :mod:`mapping.reference` (design section 3);
they are never re-derived here.

Only NumPy: :mod:`hardware` never imports torch.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class InferenceEnergy:
    """Energy of each inference of a batch, by event kind and layer.

    Members
    -------
    per_kind_J : dict of kind name to float64 [batch, L] energy per computing layer, in the
        order the kinds are reported
    static_J : float64 [batch], energy not attributed to a layer (zero for the analog
        model, whose static bias is attributed per neuron)
    """

    per_kind_J: dict
    static_J: np.ndarray

    @property
    def per_layer_J(self):
        """float64 [batch, L], the dynamic energy of each computing layer."""
        return sum(self.per_kind_J.values())

    @property
    def total_J(self):
        """float64 [batch], dynamic plus static energy per inference."""
        return self.per_layer_J.sum(axis=1) + self.static_J


#: Neuron-chunk work arrays of :func:`analog_inference_energy` stay below this many elements.
_ANALOG_CHUNK_ELEMENTS = 1 << 22


def analog_inference_energy(model, network, trace):
    """Energy per inference of the analog neurons, from a fitted per-neuron energy model.

    The model (:class:`hardware.spice.energy_model.AnalogEnergies`, or anything with the same
    members) gives the energy of one neuron of fan-in ``n`` and threshold ``theta`` over one
    window as::

        e_idle_J + p_static_W * t_wait
        + sum over delivered inputs j, per polarity, of
              c0 + c1 |w_j| + c2 |w_j| u_j Q(n) / theta
        + (e_spike_J + e_spike_per_unit_J * sum_j |w_j|) if it fired

    with ``t_wait = (end + 1) dt_s``, ``u_j = max(0, end - s_j)`` steps, ``end`` the firing
    step (``K - 1`` for a silent neuron), ``Q(n) = model.charge_to_fire_C(n)`` and ``dt_s``
    ``model.technology["dt_s"]``. Firing and input steps are the integer ones of ``trace``:
    the circuit crosses threshold up to one step before the integer firing step, so ``u_j``
    and ``t_wait`` are upper bounds, by less than one step each.

    Returns
    -------
    (:class:`InferenceEnergy`, synaptic_events) with kinds ``synapse_switch_J`` (the
    ``c0 + c1 |w|`` terms), ``synapse_current_J`` (the ``c2`` terms), ``spike_J``, ``idle_J``
    and ``wait_J``; ``synaptic_events`` is int64 [batch, L], the delivered input spikes times
    the neurons they reach through a non-zero weight (the analog synapses switch whether or
    not their neuron has fired).
    """
    dt = float(model.technology["dt_s"])
    K = trace.steps
    batch, L = len(trace.spike_steps[0]), len(network.layers)
    names = ("synapse_switch_J", "synapse_current_J", "spike_J", "idle_J", "wait_J")
    kinds = {name: np.zeros((batch, L)) for name in names}
    events = np.zeros((batch, L), dtype=np.int64)
    for l, layer in enumerate(network.layers):
        w = np.asarray(layer.weight, dtype=np.int64)
        s = trace.spike_steps[l]
        fire = trace.spike_steps[l + 1]
        delivered = s <= K - 2
        end = np.where(fire < K, fire, K - 1)
        q_unit_step = model.charge_to_fire_C(w.shape[1]) / layer.threshold
        spike = model.e_spike_J + model.e_spike_per_unit_J * np.abs(w).sum(axis=1)
        kinds["idle_J"][:, l] = layer.n_out * model.e_idle_J
        kinds["wait_J"][:, l] = model.p_static_W * dt * (end + 1).sum(axis=1)
        kinds["spike_J"][:, l] = ((fire < K) * spike[None, :]).sum(axis=1)
        chunk = max(1, _ANALOG_CHUNK_ELEMENTS // (w.size or 1))
        for start in range(0, batch, chunk):
            rows = slice(start, start + chunk)
            d = delivered[rows].astype(np.float64)
            on = np.maximum(0, end[rows][:, :, None] - s[rows][:, None, :]) * d[:, None, :]
            for (c0, c1, c2), mask in ((model.synop_sourcing, w > 0),
                                       (model.synop_sinking, w < 0)):
                units = np.where(mask, np.abs(w), 0).astype(np.float64)
                count = d @ mask.T.astype(np.float64)
                events[rows, l] += count.sum(axis=1).astype(np.int64)
                kinds["synapse_switch_J"][rows, l] += (c0 * count + c1 * (d @ units.T)).sum(axis=1)
                kinds["synapse_current_J"][rows, l] += c2 * q_unit_step * np.einsum(
                    "ij,bij->b", units, on)
    return InferenceEnergy(per_kind_J=kinds, static_J=np.zeros(batch)), events


def statistics(values):
    """Mean, median and 95th percentile (linear interpolation) of a 1-D sample."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"statistics need a non-empty 1-D array, not shape {values.shape}")
    return {"mean": float(values.mean()), "median": float(np.median(values)),
            "p95": float(np.percentile(values, 95))}


def neurobench_counts(trace, sizes):
    """Per-layer event counts under NeuroBench's names, averaged over the batch.

    Returns one dict per layer (index 0 = input) with ``neurons``, ``spikes``,
    ``spikes_per_neuron`` (the firing rate), ``activation_sparsity`` (NeuroBench: the share
    of zero activations over neurons x time steps, ``1 - spikes / (neurons * K)``),
    ``synaptic_operations`` (NeuroBench's effective accumulates), ``dense_synaptic_operations``
    (``n_in * n_out * K``, what a dense clocked layer would do) and ``membrane_updates``.
    """
    K = trace.steps
    if len(sizes) != trace.spikes.shape[1]:
        raise ValueError(f"{len(sizes)} layer sizes for counts of {trace.spikes.shape[1]} layers")
    rows = []
    for l, n in enumerate(sizes):
        spikes = float(np.mean(trace.spikes[:, l]))
        rows.append({
            "layer": l, "neurons": int(n), "spikes": spikes,
            "spikes_per_neuron": spikes / n,
            "activation_sparsity": 1.0 - spikes / (n * K),
            "synaptic_operations": float(np.mean(trace.synops[:, l])),
            "dense_synaptic_operations": int(sizes[l - 1] * n * K) if l else 0,
            "membrane_updates": float(np.mean(trace.membrane_updates[:, l])),
        })
    return rows
