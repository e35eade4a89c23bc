
import pytest, torch

from dwm_tutorial.masks import (LEARNED, add_masks, learn_masks, masked_layers, pack_masks, remove_masks,
                                sparsity, unpack_masks)
from dwm_tutorial.models import SmallCNN, torchvision_classifier
from dwm_tutorial.data import take
from dwm_tutorial.train import evaluate, set_seed, train_source


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize('kw,msg', [
    (dict(method='topk', sparsity=1.0), '[0, 1)'), (dict(method='topk', sparsity=-0.5), '[0, 1)'),
    (dict(method='magic', sparsity=0.5), 'known methods: ste, gumbel, topk, magnitude'),
    (dict(method='topk', sparsity=0.5, layers='^nothing$'), 'no maskable layer'),
    (dict(method='gumbel', tau=0.0), 'tau must be > 0'), (dict(method='ste', penalty=-1e-4), 'penalty must be >= 0'),
    (dict(method='fixed', masks={'fc': torch.ones(2, 2, dtype=torch.bool)}), 'do not fit'),
])
def test_bad_input_leaves_model_unchanged(kw, msg):
    m = SmallCNN(); before = state(m)
    with pytest.raises(ValueError, match=msg.replace('[', r'\[').replace(')', r'\)')): add_masks(m, **kw)
    assert masked_layers(m) == {} and state(m).keys() == before.keys()
    assert all(torch.equal(before[k], v) for k, v in state(m).items())


def test_masks_twice():
    m = SmallCNN(); add_masks(m, 'topk', 0.5); before = state(m)
    with pytest.raises(ValueError, match='already has a mask'): add_masks(m, 'random', 0.5)
    assert all(torch.equal(before[k], v) for k, v in state(m).items())


@pytest.mark.parametrize('method', LEARNED)
def test_learning_changes_scores_only(method, mini):
    train, _ = mini
    set_seed(0); m = SmallCNN(); add_masks(m, method, sparsity=0.5)
    before = state(m)
    learn_masks(m, train, max_steps=5, progress=False)
    after = state(m)
    for k in before:
        if 'scores' in k: assert not torch.equal(before[k], after[k]), k     # the scores learned
        elif 'threshold' in k: continue                                     # the moving threshold is part of the mask
        else: assert torch.equal(before[k], after[k]), k                    # weights, biases, head: bitwise identical


def test_pack_round_trip_odd_sizes():
    g = torch.Generator().manual_seed(0)
    masks = {'a': torch.rand(3, 5, generator=g) > 0.5, 'b': torch.rand(7, generator=g) > 0.3, 'c': torch.ones(1, dtype=torch.bool)}
    back = unpack_masks(pack_masks(masks))
    assert all(torch.equal(back[k], masks[k]) for k in masks)
    bad = pack_masks(masks); bad['a']['bits'] = bad['a']['bits'][:1]
    with pytest.raises(ValueError, match='needs 15'): unpack_masks(bad)


@pytest.mark.parametrize('method', ['ste', 'gumbel', 'topk', 'magnitude', 'random'])
def test_bake_keeps_outputs(method):
    set_seed(0); m = SmallCNN(); add_masks(m, method, sparsity=0.6); m.eval()
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad(): y = m(x)
    remove_masks(m, bake=True)
    with torch.no_grad(): assert torch.allclose(m(x), y, atol=1e-5)
    assert masked_layers(m) == {}


def test_resnet_all_methods(mini):
    train, _ = mini
    for method in ('ste', 'gumbel', 'topk', 'magnitude', 'random'):
        set_seed(0); r = torchvision_classifier('resnet18')
        names = add_masks(r, method, sparsity=0.7)
        assert 'fc' not in names and len(names) >= 20          # every conv, not the head
        if method in LEARNED: learn_masks(r, train, max_steps=1, bs=16, progress=False)
        r.eval()
        with torch.no_grad(): assert r(train[:2][0]).shape == (2, 10)
        if method in ('topk', 'magnitude', 'random'): assert abs(sparsity(r) - 0.7) < 1e-3


@pytest.fixture(scope='module')
def small_source(mini):
    "A source model trained on 2,000 images: one epoch is only 16 steps of 128."
    train, test = mini
    small = take(train, 2000)
    model, _ = train_source(small, epochs=1, progress=False)
    return small, test, model


@pytest.mark.parametrize('method', LEARNED)
def test_small_budget_reaches_sparsity_and_beats_random(method, small_source):
    import copy
    small, test, src = small_source
    m = copy.deepcopy(src); add_masks(m, method, sparsity=0.8)
    run = learn_masks(m, small, epochs=1, progress=False)
    assert run.steps >= 200                                  # small data is cycled up to the minimum number of steps
    assert abs(run.sparsity - 0.8) <= 0.02, run.sparsity     # and the sparsity is the one asked for
    r = copy.deepcopy(src); add_masks(r, 'random', sparsity=0.8)
    assert evaluate(m, test) > evaluate(r, test) + 0.2


@pytest.mark.parametrize('method', ['ste', 'gumbel'])
def test_unconstrained_original_has_no_schedule(method, mini):
    train, _ = mini
    set_seed(0); m = SmallCNN(); add_masks(m, method)             # sparsity=None: the original method, fixed threshold
    thr = {n: P.threshold.clone() for n, P in masked_layers(m).items()}
    run = learn_masks(m, train, max_steps=3, progress=False)
    assert run.schedule == [] and run.target_sparsity is None
    assert all(torch.equal(P.threshold, thr[n]) for n, P in masked_layers(m).items())
