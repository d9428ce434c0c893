"""Models: shapes, gradients, parameter counts, input checks, symmetry, determinism, overfitting."""

import ast
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import labkit.models
from labkit.models import (
    ACTIVATIONS,
    BasicBlock,
    LeNet5,
    PlainCNN,
    ResNet,
    SiameseNet,
    build,
    count_parameters,
    names,
    summary,
)

# The counts each class docstring states for its default options.
EXPECTED_PARAMETERS = {
    "lenet5": 61_706,
    "lenet5_modern": 61_848,
    "plain_cnn": 28_938,
    "resnet": 174_970,
    "siamese": 122_050,
    "two_channel": 856_354,
}
PAIR_MODELS = {"siamese", "two_channel"}


def make(name: str, seed: int = 0, **options):
    torch.manual_seed(seed)
    return build(name, **options)


def inputs(model, batch_size: int = 4, seed: int = 1) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch_size, 1, 28, 28, generator=generator) for _ in range(model.num_inputs)]


def test_registry_names_and_unknown_name():
    assert names() == sorted(EXPECTED_PARAMETERS)
    with pytest.raises(ValueError, match=r"unknown model 'nope'; known: lenet5, lenet5_modern, plain_cnn, resnet"):
        build("nope")


def test_no_model_module_imports_the_models_package():
    # the families and their shared helpers (common.py) import each other, never labkit.models itself: the package
    # only registers them, so no import order has to keep a cycle working
    folder = Path(labkit.models.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                package = "labkit.models".rsplit(".", node.level - 1)[0] if node.level else ""
                imported = ".".join(part for part in (package, node.module) if part)
                assert imported != "labkit.models", f"{path.name}:{node.lineno} imports the package"
            elif isinstance(node, ast.Import):
                assert all(alias.name != "labkit.models" for alias in node.names), f"{path.name}:{node.lineno}"


@pytest.mark.parametrize("name", names())
def test_output_shape_dtype_and_finite_gradients(name):
    model = make(name)
    out = model(*inputs(model))
    assert out.shape == (4, 2 if name in PAIR_MODELS else 10)
    assert out.dtype == torch.float32
    F.cross_entropy(out, torch.tensor([0, 1, 1, 0])).backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, parameter_name
        assert torch.isfinite(parameter.grad).all(), parameter_name


@pytest.mark.parametrize("name", names())
def test_parameter_count_matches_docstring_and_summary(name):
    model = make(name)
    expected = EXPECTED_PARAMETERS[name]
    assert count_parameters(model) == expected
    assert f"{expected:,}" in type(model).__doc__
    table = str(summary(model))
    assert f"Total params: {expected:,}" in table
    assert type(model).__name__ in table


BAD_IMAGES = {
    "rank": (torch.zeros(4, 28, 28), r"got a float32 tensor of shape \(4, 28, 28\): rank 3, not 4"),
    "channels": (torch.zeros(4, 3, 28, 28), r"got a float32 tensor of shape \(4, 3, 28, 28\): 3 channels, not 1"),
    "size": (torch.zeros(4, 1, 32, 32), r"images \(32, 32\), not \(28, 28\)"),
    "dtype": (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), r"got a uint8 tensor of shape \(4, 1, 28, 28\)"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
@pytest.mark.parametrize("name", names())
def test_bad_input_raises_before_any_layer_runs(name, case):
    model = make(name)
    ran = []
    for module in model.modules():
        module.register_forward_pre_hook(lambda module, args: ran.append(type(module).__name__))
    bad, message = BAD_IMAGES[case]
    args = [torch.zeros(4, 1, 28, 28), bad] if name in PAIR_MODELS else [bad]
    with pytest.raises(ValueError, match=r"expected a float tensor of shape \(B, 1, 28, 28\), got") as error:
        model(*args)
    assert error.match(message)
    assert ran == [type(model).__name__]  # only the model's own forward started


@pytest.mark.parametrize("name", sorted(PAIR_MODELS))
def test_pair_batch_size_mismatch(name):
    model = make(name)
    with pytest.raises(ValueError, match=r"same size: x1 has shape \(4, 1, 28, 28\), x2 has shape \(3, 1, 28, 28\)"):
        model(torch.zeros(4, 1, 28, 28), torch.zeros(3, 1, 28, 28))


@pytest.mark.parametrize("encoder", ["plain_cnn", "lenet5_modern", "resnet"])
def test_siamese_is_symmetric_under_swapping_inputs(encoder):
    model = make("siamese", encoder=encoder).eval()
    a, b = inputs(model, batch_size=5)
    with torch.no_grad():
        assert torch.allclose(model(a, b), model(b, a), atol=1e-6)
        assert model.embed(a).shape == (5, 64)


def test_siamese_rejects_unknown_encoder():
    with pytest.raises(ValueError, match=r"unknown encoder 'two_channel'; known: lenet5, lenet5_modern"):
        SiameseNet(encoder="two_channel")


def test_resnet_projection_shortcuts_only_where_shape_changes():
    model = ResNet(blocks=(2, 2, 2), widths=(16, 32, 64))
    projections = sorted({key.split(".downsample")[0] for key in model.state_dict() if "downsample" in key})
    assert projections == ["layers.layer2.0", "layers.layer3.0"]
    assert any("downsample" in key for key, _ in model.named_parameters())
    for block in model.modules():
        if isinstance(block, BasicBlock):
            keeps_shape = block.conv1.stride == (1, 1) and block.conv1.in_channels == block.conv1.out_channels
            assert (block.downsample is None) == keeps_shape
    # A change of width alone, or of stride alone, needs a projection; it is a registered submodule.
    assert BasicBlock(8, 16, stride=1).downsample is not None
    assert BasicBlock(16, 16, stride=2).downsample is not None
    assert BasicBlock(16, 16, stride=1).downsample is None
    assert "downsample.0.weight" in dict(BasicBlock(8, 16).named_parameters())


def test_resnet_options():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 28, 28)
    for activation in ["softplus", "gelu", "silu", "elu"]:
        assert ResNet(blocks=(1, 1), widths=(8, 16), activation=activation)(x).shape == (2, 10)
    model = ResNet(zero_init_residual=True)
    assert all((block.bn2.weight == 0).all() for block in model.modules() if isinstance(block, BasicBlock))
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; known: " + ", ".join(sorted(ACTIVATIONS))):
        ResNet(activation="swish")
    with pytest.raises(ValueError, match="one positive entry per stage"):
        ResNet(blocks=(2, 2), widths=(16, 32, 64))


def test_resnet_stem_stride_halves_every_stage_and_keeps_the_parameters():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 28, 28)
    sizes = {}
    for stride in (1, 2):
        model = ResNet(stem_stride=stride).eval()
        shapes = []
        for layer in model.layers:
            layer.register_forward_hook(lambda _, __, out, shapes=shapes: shapes.append(tuple(out.shape[2:])))
        assert model(x).shape == (2, 10)
        sizes[stride] = (shapes, count_parameters(model))
    assert sizes[1][0] == [(28, 28), (14, 14), (7, 7)] and sizes[2][0] == [(14, 14), (7, 7), (4, 4)]
    assert sizes[1][1] == sizes[2][1] == 174_970
    with pytest.raises(ValueError, match=r"stem_stride must be 1 \(keep 28x28\) or 2 \(halve to 14x14\), got 4"):
        ResNet(stem_stride=4)



class CountingBlock(BasicBlock):
    """A block class of one's own (notebook 03's exercise): ResNet builds every block from it."""

    made: list = []

    def __init__(self, inplanes, planes, stride=1, activation="relu"):
        super().__init__(inplanes, planes, stride, activation)
        CountingBlock.made.append((inplanes, planes, stride, activation))


def test_resnet_builds_its_blocks_from_the_block_class_it_is_given():
    CountingBlock.made.clear()
    model = build("resnet", seed=0, blocks=(2, 1), widths=(8, 16), activation="softplus", block=CountingBlock)
    assert CountingBlock.made == [(8, 8, 1, "softplus"), (8, 8, 1, "softplus"), (8, 16, 2, "softplus")]
    assert [type(m) for m in model.modules() if isinstance(m, BasicBlock)] == [CountingBlock] * 3
    # the same construction order as the default block: the same seed gives the same weights
    reference = build("resnet", seed=0, blocks=(2, 1), widths=(8, 16), activation="softplus")
    assert list(model.state_dict()) == list(reference.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    # zero_init_residual reaches the given block class
    model = ResNet(blocks=(1, 1), widths=(8, 16), zero_init_residual=True, block=CountingBlock)
    assert all((block.bn2.weight == 0).all() for block in model.modules() if isinstance(block, CountingBlock))


def test_resnet_default_block_is_basic_block_and_a_bad_block_is_refused():
    assert all(type(m) is BasicBlock for m in ResNet(blocks=(1, 1), widths=(8, 16)).layers.modules()
               if isinstance(m, BasicBlock))
    with pytest.raises(ValueError, match="block must be an nn.Module class such as BasicBlock, got 'basic'"):
        ResNet(block="basic")
    with pytest.raises(ValueError, match="block must be an nn.Module class"):
        ResNet(block=BasicBlock(8, 8))  # an instance, not the class

def test_lenet5_pads_to_32_and_validates_options():
    model = LeNet5()
    shapes = {}
    for layer in ("c1", "c5"):
        hook = lambda module, args, out, layer=layer: shapes.update({layer: out.shape})
        getattr(model.features, layer).register_forward_hook(hook)
    model(torch.zeros(2, 1, 28, 28))
    assert shapes == {"c1": (2, 6, 28, 28), "c5": (2, 120, 1, 1)}
    with pytest.raises(ValueError, match="unknown pooling 'median'"):
        LeNet5(pooling="median")
    with pytest.raises(ValueError, match="unknown activation"):
        LeNet5(activation="swish")


def test_plain_cnn_options():
    model = PlainCNN(widths=(8, 16), dropout=0.5, batch_norm=True)
    assert model.feature_dim == 16 * 7 * 7
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="dropout"):
        PlainCNN(dropout=1.5)
    assert PlainCNN(kernel_sizes=(3, 7))(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match=r"kernel_sizes must be two odd positive ints, e.g. \(5, 5\), got \(4, 5\)"):
        PlainCNN(kernel_sizes=(4, 5))


def test_two_channel_options():
    from labkit.models import TwoChannelNet

    x = torch.zeros(2, 1, 28, 28)
    one_hidden = TwoChannelNet(hidden=64, kernel_sizes=(5, 5), batch_norm=True)
    assert one_hidden(x, x).shape == (2, 2)
    assert [m.out_features for m in one_hidden.head if isinstance(m, torch.nn.Linear)] == [2]
    deep = TwoChannelNet(hidden=(32, 16, 8))
    assert [m.out_features for m in deep.head if isinstance(m, torch.nn.Linear)] == [16, 8, 2]
    with pytest.raises(ValueError, match=r"hidden must be one or more positive layer widths, .* got \(\)"):
        TwoChannelNet(hidden=())


@pytest.mark.parametrize("name", names())
def test_same_seed_same_weights(name):
    first, again, other = (make(name, seed=seed).state_dict() for seed in (0, 0, 1))
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not all(torch.equal(first[key], other[key]) for key in first)


@pytest.mark.parametrize("name", names())
def test_channels_last_and_bf16_autocast(name):
    model = make(name).to(memory_format=torch.channels_last)
    batch = [x.contiguous(memory_format=torch.channels_last) for x in inputs(model)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(*batch)
    assert out.shape == (4, model.num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", names())
def test_overfits_64_random_samples(name):
    """Every model can memorise 64 random images (or pairs) with random labels: the gradient path works."""
    model = make(name)
    batch = inputs(model, batch_size=64, seed=2)
    targets = torch.randint(0, model.num_classes, (64,), generator=torch.Generator().manual_seed(3))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss = F.cross_entropy(model(*batch), targets)
        if loss.item() < 0.05:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


@pytest.mark.parametrize("name", ["plain_cnn", "siamese"])
def test_seeded_build_gives_the_weights_of_seed_everything_then_build(name):
    from labkit.env import seed_everything

    first = build(name, seed=0)
    torch.manual_seed(99)  # the global state in between does not matter
    second = build(name, seed=0)
    seed_everything(0)
    classic = build(name)  # how the committed notebooks built their models
    other = build(name, seed=1)
    for a, b, c in zip(*(m.state_dict().values() for m in (first, second, classic))):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert any(not torch.equal(a, d) for a, d in zip(first.state_dict().values(), other.state_dict().values()))
    with pytest.raises(ValueError, match="seed must be a non-negative int or None, got -1"):
        build(name, seed=-1)


def test_summary_counts_mult_adds_in_millions_and_shows_no_idle_dropout():
    table = str(summary(build("plain_cnn")))
    assert "Total mult-adds (millions)" in table and "Units." not in table
    assert "Dropout" not in table  # dropout=0 adds no layer
    assert "Dropout" in str(summary(build("plain_cnn", dropout=0.5)))
    assert summary(build("plain_cnn")).total_params == 28_938
