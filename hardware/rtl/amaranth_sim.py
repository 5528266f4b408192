"""Run inferences on a :class:`~hardware.rtl.top.NetworkTop` in the Amaranth simulator.

The fastest way to check the core against :mod:`mapping.reference`: no Verilog simulator is
involved. One testbench drives the input beats, takes the output beats and reads the
results at ``done``, cycle by cycle; with ``stall_seed`` it also withholds input beats and
output ``ready`` at random to exercise the handshakes.
"""
import random

import numpy as np
from amaranth.sim import Simulator

from .scoreboard import Observed, input_beats

__all__ = ["run", "InferenceTimeout"]


class InferenceTimeout(RuntimeError):
    """An inference did not reach ``done`` within its cycle budget."""


def run(top, input_steps, *, silent=False, stall_seed=None, max_cycles=None):
    """Simulate one inference per row of ``input_steps``; returns a list of :class:`Observed`.

    Parameters
    ----------
    top : NetworkTop
    input_steps : int array [batch, n_in], steps in [0, K] (K = no spike)
    silent : also send the inputs that do not spike, as beats of step K
    stall_seed : int, optional
        seed of random stalls on both streams (none when omitted)
    max_cycles : int, optional
        cycle budget per inference (default: generous, from the network's size)

    Raises
    ------
    InferenceTimeout
        if an inference does not finish within ``max_cycles``.
    """
    input_steps = np.asarray(input_steps, dtype=np.int64)
    return run_beats(top, [input_beats(row, top.network.steps, silent=silent)
                           for row in input_steps], stall_seed=stall_seed, max_cycles=max_cycles)


def run_beats(top, samples, *, stall_seed=None, max_cycles=None):
    """Like :func:`run`, with the beats ``(index, step, last)`` of each sample given as is
    (for example out of order, to provoke the protocol error)."""
    net = top.network
    K = net.steps
    if max_cycles is None:
        work = sum(max(top.groups()[l]) * (net.sizes[l] + K) for l in range(len(net.layers)))
        max_cycles = 8 * work + 20 * K + 100
    rng = random.Random(stall_seed)
    results = []
    sim = Simulator(top)
    sim.add_clock(1e-8)
    access = {f"counters__{name}": getattr(top.counters, name)
              for name in top.signature.members["counters"].signature.members}
    counters = [*top.spikes, *top.synops, *top.membrane_updates, *access.values()]
    n = len(top.spikes)

    async def bench(ctx):
        inp, out = top.spike_in, top.spike_out
        for beats in samples:
            got = Observed()
            sent = 0
            for cycle in range(max_cycles):
                stall = stall_seed is not None and rng.random() < 0.3
                if sent < len(beats) and not stall:
                    index, step, last = beats[sent]
                    ctx.set(inp.valid, 1)
                    ctx.set(inp.index, index)
                    ctx.set(inp.step, step)
                    ctx.set(inp.last, last)
                else:
                    ctx.set(inp.valid, 0)
                ctx.set(out.ready, 0 if stall_seed is not None and rng.random() < 0.3 else 1)
                _, _, valid, ready, o_valid, o_ready, o_index, o_step, done, *values = \
                    await ctx.tick().sample(inp.valid, inp.ready, out.valid, out.ready,
                                            out.index, out.step, top.done, top.prediction,
                                            top.cycles, top.error, *counters)
                if valid and ready:
                    sent += 1
                if o_valid and o_ready:
                    got.out_spikes.append((int(o_index), int(o_step)))
                if done and sent == len(beats):
                    got.prediction, got.cycles, got.error = (int(v) for v in values[:3])
                    counts = [int(v) for v in values[3:]]
                    got.spikes, got.synops, got.membrane_updates = (
                        counts[:n], counts[n:2 * n], counts[2 * n:3 * n])
                    got.counters = dict(zip(access, counts[3 * n:]))
                    break
            else:
                raise InferenceTimeout(f"sample {len(results)}: no done within {max_cycles} "
                                       f"cycles ({sent} of {len(beats)} beats taken)")
            ctx.set(inp.valid, 0)
            results.append(got)

    sim.add_testbench(bench)
    sim.run()
    return results
