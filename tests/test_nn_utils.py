"""nn.utils against PyTorch: the vector round trip and the two gradient clippings."""

import numpy as np
import pytest

from fastdense import nn
from fastdense.autograd import tensor

torch = pytest.importorskip("torch")


def _pair(dtype):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False)
    )
    tm = tm.to(torch.float32 if dtype == np.float32 else torch.float64)
    fm = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False)).to(dtype)
    fm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(dtype)
    return tm, fm, x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parameters_to_vector_and_back(dtype):
    tm, fm, _ = _pair(dtype)
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    fv = nn.utils.parameters_to_vector(fm.parameters())
    assert fv.dtype == dtype and fv.shape == (24,)
    np.testing.assert_array_equal(fv.numpy(), tv.detach().numpy())
    (tv * tv).sum().backward()
    (fv * fv).sum().backward()
    for (_, tp), (_, fp) in zip(tm.named_parameters(), fm.named_parameters()):
        np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), rtol=1e-6)
    new = np.arange(24, dtype=dtype) / 7
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new.copy()), tm.parameters())
    nn.utils.vector_to_parameters(tensor(new), fm.parameters())
    for (_, tp), (_, fp) in zip(tm.named_parameters(), fm.named_parameters()):
        np.testing.assert_array_equal(fp.numpy(), tp.detach().numpy())
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters(new, fm.parameters())
    with pytest.raises(RuntimeError, match="invalid for input of size 3"):
        nn.utils.vector_to_parameters(tensor(new[:3]), fm.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip", ["value", "norm2", "norm_inf"])
def test_clipping_matches_torch(dtype, clip):
    tm, fm, x = _pair(dtype)
    (tm(torch.from_numpy(x)) ** 2).sum().backward()
    (fm(x) ** 2).sum().backward()
    if clip == "value":
        assert torch.nn.utils.clip_grad_value_(tm.parameters(), 0.3) is None
        assert nn.utils.clip_grad_value_(fm.parameters(), 0.3) is None
    else:
        p = 2.0 if clip == "norm2" else float("inf")
        tn = torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5, p)
        fn = nn.utils.clip_grad_norm_(fm.parameters(), 0.5, p)
        np.testing.assert_allclose(fn.numpy(), tn.numpy(), rtol=1e-5)
    for (_, tp), (_, fp) in zip(tm.named_parameters(), fm.named_parameters()):
        np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)
