"""The exact TTFS neuron: kernel against reference, against time stepping, and gradients."""
import math

import pytest
import torch

from model import first_spike_times, potential, spike_times_and_slopes
from model import kernel
from model.neuron import MIN_SLOPE

INF = math.inf


def random_layer(seed, batch=16, n_in=20, n_out=12, silent=0.3, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    times = torch.rand(batch, n_in, generator=generator, dtype=dtype) * 2
    times[torch.rand(batch, n_in, generator=generator) < silent] = INF
    weight = torch.randn(n_out, n_in, generator=generator, dtype=dtype) * 0.4 + 0.1
    return times, weight


def stepped_first_spikes(input_times, weight, *, threshold, t_max, dt):
    """Brute force: sample the potential every dt and take the first step at threshold."""
    grid = torch.arange(0.0, t_max + dt / 2, dt, dtype=torch.float64)
    v = potential(grid, input_times, weight)
    above = v >= threshold
    first = above.to(torch.int8).argmax(dim=-1)
    return torch.where(above.any(dim=-1), grid[first], torch.full_like(grid[first], INF))


@pytest.mark.parametrize("seed", range(4))
def test_neuron_kernel_equals_reference(seed):
    times, weight = random_layer(seed)
    t_k, s_k = spike_times_and_slopes(times, weight, t_max=3.0)
    t_r, s_r = spike_times_and_slopes(times, weight, t_max=3.0, implementation="reference")
    assert torch.equal(torch.isinf(t_k), torch.isinf(t_r))
    fired = torch.isfinite(t_k)
    assert 0 < fired.float().mean() < 1
    torch.testing.assert_close(t_k[fired], t_r[fired], rtol=0, atol=1e-12)
    torch.testing.assert_close(s_k, s_r, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_neuron_matches_time_stepping_within_one_step(seed):
    times, weight = random_layer(seed, batch=8)
    dt = 1e-3
    exact = first_spike_times(times, weight, t_max=3.0)
    stepped = stepped_first_spikes(times, weight, threshold=1.0, t_max=3.0, dt=dt)
    both = torch.isfinite(exact) & torch.isfinite(stepped)
    # a neuron may cross within the last step of the window: only there may they disagree
    disagree = torch.isfinite(exact) != torch.isfinite(stepped)
    assert (exact[disagree] > 3.0 - dt).all()
    assert ((stepped[both] - exact[both]) >= -1e-12).all()
    assert ((stepped[both] - exact[both]) <= dt + 1e-12).all()


@pytest.mark.parametrize("implementation", ["kernel", "reference"])
def test_neuron_gradcheck_float64(implementation):
    times, weight = random_layer(5, batch=6, n_in=8, n_out=5)
    times.requires_grad_()
    weight.requires_grad_()
    mix = torch.linspace(0.5, 1.5, 5, dtype=torch.float64)

    def objective(t_in, w):
        t, s = spike_times_and_slopes(t_in, w, t_max=3.0, implementation=implementation)
        return (torch.where(torch.isfinite(t), t, 0) * mix).sum() + (s ** 2 * mix).sum()

    assert torch.autograd.gradcheck(objective, (times, weight), eps=1e-7, atol=1e-5)


def test_neuron_gradients_equal_between_implementations():
    times, weight = random_layer(7, batch=32, n_in=40, n_out=20)
    grads = []
    for implementation in ("kernel", "reference"):
        t_in, w = times.clone().requires_grad_(), weight.clone().requires_grad_()
        t, s = spike_times_and_slopes(t_in, w, t_max=3.0, implementation=implementation)
        (torch.where(torch.isfinite(t), t, 0).sum() + 0.3 * s.sum()).backward()
        grads.append((t_in.grad, w.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)


def test_neuron_closed_form_of_two_inputs():
    times = torch.tensor([[0.0, 0.5]], dtype=torch.float64)
    weight = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    # v(t) = t up to 0.5, then 3t - 1: reaches 1 at t = 2/3
    t, s = spike_times_and_slopes(times, weight, t_max=3.0)
    assert t.item() == pytest.approx(2 / 3, abs=1e-15)
    assert s.item() == 3.0


@pytest.mark.parametrize("implementation", ["kernel", "reference"])
def test_neuron_edge_cases_are_silent(implementation):
    times = torch.tensor([[INF, INF, INF],     # no input spike
                          [0.1, 0.2, 0.3],     # all-negative weights (row 1 of weight)
                          [0.5, 3.5, INF]],    # crossing after t_max
                         dtype=torch.float64)
    weight = torch.tensor([[0.2, 0.2, 0.2], [-1.0, -1.0, -1.0]], dtype=torch.float64)
    t = first_spike_times(times, weight, t_max=3.0, implementation=implementation)
    assert torch.isinf(t[0]).all()
    assert torch.isinf(t[1, 1]) and t[1, 0].item() == pytest.approx(1.12 / 0.6, abs=1e-12)
    assert torch.isinf(t[2]).all()  # 0.2 (t - 0.5) reaches 1 only at 5.5 > 3


@pytest.mark.parametrize("implementation", ["kernel", "reference"])
def test_neuron_ties_form_one_segment(implementation):
    # two inputs at the same time, the first alone would make v decrease
    times = torch.tensor([[0.5, 0.5, 1.0]], dtype=torch.float64)
    weight = torch.tensor([[-1.0, 3.0, 0.0]], dtype=torch.float64)
    t = first_spike_times(times, weight, t_max=3.0, implementation=implementation)
    assert t.item() == pytest.approx(1.0, abs=1e-15)


def test_neuron_tiny_slope_gives_bounded_gradients():
    # v(0.5) is 1e-14 below threshold and the slope after t = 0.5 is 1e-13: fires near 0.6
    times = torch.tensor([[0.0, 0.5]], dtype=torch.float64, requires_grad=True)
    weight = torch.tensor([[2.0, -2.0 + 1e-13]], dtype=torch.float64, requires_grad=True)
    t = first_spike_times(times, weight, threshold=1.0 + 1e-14, t_max=3.0)
    assert 0.5 < t.item() < 0.7
    t.sum().backward()
    bound = 3.0 * 3.0 / MIN_SLOPE
    assert torch.isfinite(weight.grad).all() and weight.grad.abs().max() <= bound
    assert torch.isfinite(times.grad).all() and times.grad.abs().max() <= bound


def test_neuron_float32_runs_and_keeps_dtype():
    times, weight = random_layer(2, dtype=torch.float32)
    weight.requires_grad_()
    t = first_spike_times(times, weight, t_max=3.0)
    assert t.dtype == torch.float32
    torch.where(torch.isfinite(t), t, 0).sum().backward()
    assert weight.grad.dtype == torch.float32 and torch.isfinite(weight.grad).all()


def test_neuron_rejects_bad_input():
    times, weight = random_layer(0)
    with pytest.raises(ValueError, match="inputs but weight expects"):
        first_spike_times(times[:, :5], weight)
    bad = times.clone()
    bad[0, 0] = math.nan
    with pytest.raises(ValueError, match="NaN or -inf"):
        first_spike_times(bad, weight)
    with pytest.raises(ValueError, match="implementation must be one of"):
        first_spike_times(times, weight, implementation="dense")


def test_kernel_builds_into_given_cache(tmp_path, monkeypatch):
    path = kernel.build(directory=tmp_path)
    assert path.parent == tmp_path and path.is_file()
    assert kernel.build(directory=tmp_path) == path
    monkeypatch.setenv("CC", "no-such-compiler-xyz")
    with pytest.raises(RuntimeError, match="no C compiler 'no-such-compiler-xyz' found"):
        kernel.build(directory=tmp_path / "other")
