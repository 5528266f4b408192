"""The C kernel's reductions: bitwise the same gradients on every run and every thread count."""
import pytest
import torch

from model import kernel, spike_times_and_slopes
from model.neuron import scan
from model.regularizer import vhat_area


def seeded_batch(seed=11, batch=96, n_in=120, n_out=40):
    generator = torch.Generator().manual_seed(seed)
    times = torch.rand(batch, n_in, generator=generator, dtype=torch.float64)
    times[torch.rand(batch, n_in, generator=generator) < 0.4] = float("inf")
    weight = torch.randn(n_out, n_in, generator=generator, dtype=torch.float64) * 0.15 + 0.01
    return times, weight


def gradients(times, weight, threads):
    """Weight and input-time gradients of spike times, slopes and the v_hat area."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t_in, w = times.clone().requires_grad_(), weight.clone().requires_grad_()
        result = scan(t_in, w, t_max=3.0)
        fired = torch.isfinite(result.times)
        assert 0.2 < fired.double().mean() < 1
        area = vhat_area(t_in, w, result, v_hat=0.5, t_max=3.0)
        mix = torch.linspace(0.5, 1.5, w.shape[0], dtype=torch.float64)
        loss = (torch.where(fired, result.times, 0) * mix).sum() + 0.3 * result.slopes.sum() \
            + 0.01 * (area * mix).sum()
        loss.backward()
        return t_in.grad, w.grad
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_kernel_gradients_bitwise_equal_on_repeated_runs(threads):
    times, weight = seeded_batch()
    first = gradients(times, weight, threads)
    for _ in range(12):
        again = gradients(times, weight, threads)
        assert torch.equal(again[0], first[0]) and torch.equal(again[1], first[1])


def test_kernel_gradients_bitwise_equal_across_thread_counts():
    times, weight = seeded_batch(seed=12)
    one = gradients(times, weight, 1)
    for threads in (2, 3, 4, 7):
        other = gradients(times, weight, threads)
        assert torch.equal(other[0], one[0]) and torch.equal(other[1], one[1]), threads


def test_kernel_forward_bitwise_equal_across_thread_counts():
    times, weight = seeded_batch(seed=13)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = spike_times_and_slopes(times, weight, t_max=3.0)
        for threads in (2, 3, 5):
            torch.set_num_threads(threads)
            other = spike_times_and_slopes(times, weight, t_max=3.0)
            assert torch.equal(other[0], one[0]) and torch.equal(other[1], one[1]), threads
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("threads", [1, 3])
def test_kernel_gradcheck_float64_with_threads(threads):
    """gradcheck of spike times, slopes and the v_hat area through the partitioned reductions."""
    times, weight = seeded_batch(seed=14, batch=7, n_in=9, n_out=6)
    times.requires_grad_()
    weight.requires_grad_()
    mix = torch.linspace(0.5, 1.5, 6, dtype=torch.float64)

    def objective(t_in, w):
        result = scan(t_in, w, t_max=3.0)
        area = vhat_area(t_in, w, result, v_hat=0.4, t_max=3.0)
        t = torch.where(torch.isfinite(result.times), result.times, 0)
        return ((t + result.slopes ** 2 + 0.1 * area) * mix).sum()

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert torch.autograd.gradcheck(objective, (times, weight), eps=1e-7, atol=1e-5)
    finally:
        torch.set_num_threads(previous)


def test_kernel_native_build_equals_portable_build(tmp_path):
    """The host build's wider vectors change no bit: nothing is fused or reassociated."""
    times, weight = seeded_batch(seed=15)
    results = []
    for native in (True, False):
        with kernel.using(kernel.load(kernel.build(directory=tmp_path, native=native))):
            results.append(gradients(times, weight, 2) + spike_times_and_slopes(times, weight))
    for native_result, portable_result in zip(*results):
        assert torch.equal(native_result, portable_result)
