import pytest

from companion.config import ParameterError, RunConfig, validate


def test_defaults_are_valid():
    assert validate(RunConfig()) == RunConfig()


@pytest.mark.parametrize("overrides, message", [
    (dict(lr=-0.1), "lr must be a positive number"),
    (dict(model="vgg99"), "unknown model 'vgg99'"),
    (dict(model="lstm"), "trains on ('ptb',)"),
    (dict(momentum=1.5), "momentum must be in [0, 1)"),
    (dict(optimizer="adam"), "unknown optimizer"),
    (dict(batch_norm=True), "only available for models 'resnet32' and 'vgg11'"),
    (dict(n_train=0), "n_train must be a positive integer"),
])
def test_invalid_parameters_are_named(overrides, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        validate(RunConfig(**overrides))


def test_string_overrides_are_coerced():
    config = RunConfig().with_overrides(lr="0.05", epochs="3", augment="false", n_train="none")
    assert (config.lr, config.epochs, config.augment, config.n_train) == (0.05, 3, False, None)


def test_unknown_and_malformed_overrides():
    with pytest.raises(ParameterError, match="unknown parameter"):
        RunConfig().with_overrides(learning_rate=0.1)
    with pytest.raises(ParameterError, match="lr must be a number"):
        RunConfig().with_overrides(lr="fast")


def test_identity_excludes_device_only():
    a, b = RunConfig(device="cpu"), RunConfig(device="auto")
    assert a.identity() == b.identity()
    assert RunConfig(seed=1).identity() != RunConfig(seed=2).identity()


def test_probe_options_are_routed_to_their_probe():
    config = RunConfig().with_overrides(top_k="5", n_eval=64, lanczos_tol=1e-3)
    assert config.probe("eigen").top_k == 5 and config.probe("metrics").n_eval == 64
    assert config.with_overrides(**{"eigen.n_hessian": 128}).probe("eigen").n_hessian == 128
    assert config.identity()["probes"][1] == {"probe": "eigen", "top_k": 5, "n_hessian": 2500,
                                              "hessian_batch_size": 250, "lanczos_tol": 1e-3,
                                              "warm_start": True}
    assert config.flat()["top_k"] == 5


def test_unknown_parameter_lists_probe_options_too():
    with pytest.raises(ParameterError, match=r"unknown parameter 'topk'; valid: \[.*'top_k'"):
        RunConfig().with_overrides(topk=3)


def test_invalid_probe_option_is_named_with_its_probe():
    with pytest.raises(ParameterError, match="eigen.top_k must be a positive integer"):
        validate(RunConfig().with_overrides(top_k=0))
    with pytest.raises(ParameterError, match="probes must be distinct"):
        validate(RunConfig(probes=RunConfig().probes * 2))


BLOBS = RunConfig(model="mlp", dataset="blobs", augment=False)


def test_model_and_data_options_are_routed_coerced_and_keyed():
    config = BLOBS.with_overrides(classes="20", std="10", hidden="50", activation="tanh",
                                  stop_grad_norm="1e-4")
    assert dict(config.data_options) == {"classes": 20, "std": 10.0}
    assert dict(config.model_options) == {"hidden": (50,), "activation": "tanh"}
    assert config.stop_grad_norm == 1e-4
    assert config.flat()["classes"] == 20 and config.flat()["hidden"] == (50,)
    assert config.identity() != BLOBS.identity()
    validate(config)
    # runs without options keep the cache keys they had before options existed
    assert not {"model_options", "data_options", "stop_grad_norm"} & set(RunConfig().identity())


@pytest.mark.parametrize("overrides, message", [
    (dict(activation="gelu"), "activation must be one of"),
    (dict(classes=1), "the mlp needs classes >= 2"),
    (dict(hidden="0,5"), "hidden must be positive integer widths"),
    (dict(std=-1), "std must be positive"),
    (dict(stop_grad_norm=-1), "stop_grad_norm must be a positive number"),
])
def test_bad_model_and_data_options_are_named(overrides, message):
    with pytest.raises(ParameterError, match=message):
        validate(BLOBS.with_overrides(**overrides))


def test_options_of_another_model_or_data_set_are_unknown():
    with pytest.raises(ParameterError, match="unknown parameter 'classes'"):
        RunConfig().with_overrides(classes=3)        # CIFAR-10 has no such option
    with pytest.raises(ParameterError, match="pool must divide 28"):
        validate(RunConfig(model="mlp", dataset="mnist1k").with_overrides(pool=5))
    with pytest.raises(ParameterError, match="has no option"):
        validate(RunConfig(model="pooledcnn", dataset="mnist1k", model_options=(("hidden", (3,)),)))
