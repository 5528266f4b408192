"""Regularizers against numerical integration of the potential, and their gradients."""
import math

import pytest
import torch

from model.neuron import scan
from model.regularizer import neuron_penalty, reference_area, vhat_area

T_MAX = 3.0


def layer(seed, batch=6, n_in=15, n_out=10):
    generator = torch.Generator().manual_seed(seed)
    times = torch.rand(batch, n_in, generator=generator, dtype=torch.float64) * 2
    times[torch.rand(batch, n_in, generator=generator) < 0.3] = math.inf
    weight = torch.randn(n_out, n_in, generator=generator, dtype=torch.float64) * 0.4 + 0.12
    return times, weight


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("v_hat", [0.0, 0.3, 0.7])
def test_regularizer_vhat_equals_numerical_integral(seed, v_hat):
    times, weight = layer(seed)
    result = scan(times, weight, t_max=T_MAX)
    fired = torch.isfinite(result.times)
    assert 0 < fired.float().mean() < 1
    exact = vhat_area(times, weight, result, v_hat=v_hat, t_max=T_MAX)
    numeric = reference_area(times, weight, result.times, result.slopes, v_hat=v_hat,
                             t_max=T_MAX)
    torch.testing.assert_close(exact, numeric, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_regularizer_m_ssr_is_area_above_threshold(seed):
    times, weight = layer(seed)
    result = scan(times, weight, t_max=T_MAX)
    m_ssr = neuron_penalty("m-ssr", times, weight, result, t_max=T_MAX)
    numeric = reference_area(times, weight, result.times, result.slopes, v_hat=1.0, t_max=T_MAX)
    torch.testing.assert_close(m_ssr, numeric, rtol=1e-5, atol=1e-5)
    at_threshold = vhat_area(times, weight, result, v_hat=1.0, t_max=T_MAX)
    torch.testing.assert_close(m_ssr, at_threshold, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_regularizer_f_ssr_is_end_potential_above_threshold(seed):
    times, weight = layer(seed)
    result = scan(times, weight, t_max=T_MAX)
    f_ssr = neuron_penalty("f-ssr", times, weight, result, t_max=T_MAX)
    fired = torch.isfinite(result.times)
    end = torch.einsum("oi,bi->bo", weight, (T_MAX - times).clamp(min=0))
    # with the causal set frozen at firing: the potential at T of the continuation
    continuation = 1.0 + result.slopes * (T_MAX - result.times)
    torch.testing.assert_close(f_ssr[fired], continuation[fired] - 1.0)
    assert (f_ssr[~fired] == 0).all()
    # for neurons whose causal set is all their inputs, that is the real end potential
    every_input = result.ncausal == result.count[:, None]
    torch.testing.assert_close(f_ssr[fired & every_input], end[fired & every_input] - 1.0)


@pytest.mark.parametrize("reg", ["m-ssr", "f-ssr", "vhat"])
def test_regularizer_gradcheck_float64(reg):
    times, weight = layer(4, batch=4, n_in=8, n_out=5)
    times.requires_grad_()
    weight.requires_grad_()

    def objective(t_in, w):
        result = scan(t_in, w, t_max=T_MAX)
        return neuron_penalty(reg, t_in, w, result, t_max=T_MAX, v_hat=0.4).sum()

    assert torch.autograd.gradcheck(objective, (times, weight), eps=1e-7, atol=1e-5)


def test_regularizer_rejects_bad_names_and_v_hat():
    times, weight = layer(0)
    result = scan(times, weight, t_max=T_MAX)
    with pytest.raises(ValueError, match="reg must be one of none, m-ssr, f-ssr, vhat"):
        neuron_penalty("l1", times, weight, result, t_max=T_MAX)
    with pytest.raises(ValueError, match="vhat needs 0 <= v_hat <= threshold"):
        neuron_penalty("vhat", times, weight, result, t_max=T_MAX, v_hat=1.5)
