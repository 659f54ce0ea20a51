"""Tests for companion.models: parameter counts, shapes, init, registry."""

import math

import pytest
import torch
import torch.nn as nn

from companion.models import (MODELS, LSTMLanguageModel, ResNet32, SimpleCNN, build_model,
                              count_parameters, loss_fn_for)


def _images(n=32, seed=0):
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_simplecnn_exact_parameter_count():
    assert count_parameters(SimpleCNN()) == 591_274
    assert count_parameters(build_model("simplecnn")) == 591_274


def test_simplecnn_width_and_shape():
    small = SimpleCNN(width=0.25)
    assert count_parameters(small) < 591_274 / 8
    assert SimpleCNN(width=0.001)(_images(2)).shape == (2, 10)
    assert small(_images(4)).shape == (4, 10)


def test_resnet32_structure_without_bn():
    torch.manual_seed(0)
    m = ResNet32()
    # 463,018 for the 31 3x3 convs + classifier, plus the two 1x1 projection shortcuts
    assert count_parameters(m) == 463_018 + (16 * 32 + 32) + (32 * 64 + 64)
    assert not any(isinstance(x, nn.BatchNorm2d) for x in m.modules())
    convs = [x for x in m.modules() if isinstance(x, nn.Conv2d)]
    assert len(convs) == 33 and all(c.bias is not None and (c.bias == 0).all() for c in convs)
    he_scaled = math.sqrt(2 / (64 * 9) / 15)  # He-normal, variance x 1/15 blocks (Taki 2017)
    assert m.blocks[-1].conv2.weight.std().item() == pytest.approx(he_scaled, rel=0.1)
    assert m.blocks[-1].conv1.weight.std().item() == pytest.approx(he_scaled, rel=0.1)


def test_resnet32_with_bn():
    m = build_model("resnet32", batch_norm=True)
    assert sum(isinstance(x, nn.BatchNorm2d) for x in m.modules()) == 31
    assert all(c.bias is None for c in m.modules() if isinstance(c, nn.Conv2d))
    assert m(_images(8)).shape == (8, 10)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_resnet32_stable_at_init(batch_norm):
    torch.manual_seed(0)
    m = ResNet32(batch_norm=batch_norm)
    logits = m(_images(32))
    assert logits.shape == (32, 10) and torch.isfinite(logits).all()
    assert 0.005 < logits.std().item() < 5.0
    loss = loss_fn_for("resnet32")(logits, torch.zeros(32, dtype=torch.long))
    assert 1.0 < loss.item() < 5.0


def test_resnet32_width_option():
    m = ResNet32(width=0.5)
    assert m(_images(2)).shape == (2, 10)
    assert count_parameters(m) < count_parameters(ResNet32()) / 3


def test_lstm_shapes_init_and_loss():
    torch.manual_seed(0)
    m = build_model("lstm", vocab_size=50)
    assert all(p.abs().max() <= 0.1 for p in m.parameters())
    ids = torch.randint(0, 50, (3, 7))
    logits = m(ids)
    assert logits.shape == (3, 7, 50)
    loss = loss_fn_for("lstm")(logits, ids)
    assert loss.ndim == 0 and abs(loss.item() - math.log(50)) < 0.5
    m.eval()
    assert torch.equal(m(ids), m(ids))  # zero initial state, eval mode deterministic


def test_lstm_small_config_parameter_count():
    # Zaremba et al. 2014 small model on the 10k-word PTB vocabulary.
    m = LSTMLanguageModel(10_000)
    assert count_parameters(m) == 10_000 * 200 + 2 * (4 * 200 * 400 + 8 * 200) + 200 * 10_000 + 10_000
    assert m.lstm.dropout == 0.1 and m.drop.p == 0.1


def test_imdb_cnn_is_the_authors_network():
    from companion.models import TextCNN

    model = TextCNN()
    assert count_parameters(model) == 351_002  # Embedding(5000, 50), Conv1D 250×3, 250, 2
    assert count_parameters(TextCNN(width=2)) == 5000 * 50 + 50 * 3 * 500 + 500 + 500 * 500 + 500 + 1002
    ids = torch.randint(0, 5000, (4, 400))
    assert model(ids).shape == (4, 2)
    fmnist = build_model("simplecnn", width=0.5, in_channels=1, image_size=28)
    assert fmnist(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("name, channels, side, expected", [
    ("lenet", 1, 28, 3_274_634),        # TensorFlow's Deep-MNIST LeNet: the paper's d ≈ 3.3e6
    ("lenet", 3, 32, 4_259_274),
    ("lenet_small", 1, 28, 50_642),     # the CPU default (6/16 filters, 180 units)
    ("lenet_small", 3, 32, 76_862)])
def test_lenet_sizes_match_the_spec(name, channels, side, expected):
    model = build_model(name, in_channels=channels, image_size=side)
    assert count_parameters(model) == expected
    assert model(torch.zeros(2, channels, side, side)).shape == (2, 10)


def test_registry_errors():
    assert set(MODELS) == {"simplecnn", "resnet32", "vgg11", "lstm", "textcnn", "lenet",
                           "lenet_small", "mlp", "logistic", "pooledcnn", "vgg11_walk",
                           "resnet56", "mlp_bn"}
    with pytest.raises(ValueError, match="resnet32"):
        build_model("vgg19")
    with pytest.raises(ValueError, match="simplecnn"):
        loss_fn_for("transformer")


def test_vgg11_is_configuration_a_with_batchnorm():
    from companion.models import VGG11

    vgg = build_model("vgg11")
    convs = [m for m in vgg.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in vgg.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert len(bns) == 8 and all(c.bias is None for c in convs)
    assert count_parameters(vgg) == 9_228_362  # the usual CIFAR VGG-11-BN count
    plain = VGG11(batch_norm=False, width=0.25)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert plain(_images(3)).shape == (3, 10)


@pytest.mark.parametrize("k,expected", [(2, 4022), (5, 4115), (10, 4270), (20, 4580), (50, 5510)])
def test_blob_net_has_table_ones_sizes_and_the_authors_init(k, expected):
    model = build_model("mlp", num_classes=k, in_features=100)
    assert count_parameters(model) == expected == 3960 + 31 * k
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    assert abs(float(weights.std()) - 0.1) < 0.01 and abs(float(weights.mean())) < 0.01


@pytest.mark.parametrize("h", [10, 30, 50, 70])
def test_width_sweep_and_pooled_nets(h):
    assert count_parameters(build_model("mlp", hidden=(h,), init_std=0.0)) == 795 * h + 10
    assert count_parameters(build_model("mlp", hidden=(h,), image_size=7)) == 60 * h + 10
    assert count_parameters(build_model("pooledcnn", image_size=14)) == 1674


def test_logistic_regression_is_a_sigmoid_neuron():
    model = build_model("logistic", in_features=3, init_value=0.5)
    x = torch.tensor([[1.0, 2.0, -1.0]])
    logits = model(x)
    assert count_parameters(model) == 3
    assert torch.allclose(torch.softmax(logits, -1)[0, 1], torch.sigmoid(torch.tensor(1.0)))
    with pytest.raises(ValueError, match="activation"):
        build_model("mlp", activation="gelu")
