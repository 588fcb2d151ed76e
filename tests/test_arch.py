import torch

from benchbench.core.arch import build_net


def _layers(seq, kind):
    return [m for m in seq if isinstance(m, kind)]


def test_conv_matches_disentanglement_lib_shapes():
    net = build_net("conv", (3, 64, 64), 7)
    convs = _layers(net.encoder, torch.nn.Conv2d)
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (32, (4, 4), (2, 2)),
        (32, (4, 4), (2, 2)),
        (64, (2, 2), (2, 2)),
        (64, (2, 2), (2, 2)),
    ]
    assert [l.out_features for l in _layers(net.encoder, torch.nn.Linear)] == [256, 14]
    assert [l.out_features for l in _layers(net.decoder, torch.nn.Linear)] == [256, 1024]
    deconvs = _layers(net.decoder, torch.nn.ConvTranspose2d)
    assert [(c.out_channels, c.kernel_size, c.stride) for c in deconvs] == [
        (64, (4, 4), (2, 2)),
        (32, (4, 4), (2, 2)),
        (32, (4, 4), (2, 2)),
        (3, (4, 4), (2, 2)),
    ]
    x = torch.rand(2, 3, 64, 64)
    sizes = []
    h = x
    for m in net.encoder:
        h = m(h)
        if isinstance(m, torch.nn.Conv2d):
            sizes.append(h.shape[-1])
    assert sizes == [32, 16, 8, 4]  # TF "same" padding halves every time
    mu, logvar, z, logits = net(x, torch.zeros(2, 7))
    assert mu.shape == logvar.shape == (2, 7) and torch.equal(z, mu)
    assert logits.shape == x.shape


def test_mlp_is_higgins_net():
    net = build_net("mlp", (1, 64, 64), 10)
    assert [l.out_features for l in _layers(net.encoder, torch.nn.Linear)] == [1200, 1200, 20]
    assert [l.out_features for l in _layers(net.decoder, torch.nn.Linear)] == [1200, 1200, 1200, 4096]
    assert len(_layers(net.decoder, torch.nn.Tanh)) == 3
    assert net(torch.rand(3, 1, 64, 64), torch.randn(3, 10))[3].shape == (3, 1, 64, 64)
