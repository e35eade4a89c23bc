import pytest, torch

from dwm_tutorial.data import ImageDataset, fashion_domains
from dwm_tutorial.models import torchvision_classifier
from dwm_tutorial.train import fit, set_seed, train_source
from dwm_tutorial.transfer import check_run, source_mask, transfer


@pytest.fixture(scope='module')
def setup():
    dom = fashion_domains('rot90', subset='mini')
    src, _ = train_source(dom.source_train, epochs=1, max_steps=20, progress=False)
    return dom, src


@pytest.mark.parametrize('opt,lr,wd', [('sgd', 0.05, 0.0), ('sgd', 0.05, 0.05), ('adam', 1e-3, 0.0), ('adam', 1e-3, 0.05)])
@pytest.mark.parametrize('protocol', ['protect', 'isolate'])
def test_frozen_weights_bitwise_identical(setup, opt, lr, wd, protocol):
    dom, src = setup
    sm = source_mask(src, dom.source_train, dom.source_test, 'magnitude', 0.5, progress=False)
    res, net = transfer(src, dom.source_train, dom.source_test, dom.target_train, dom.target_test, protocol, 'magnitude', 0.5,
                        opt=opt, lr=lr, weight_decay=wd, momentum=0.9, max_steps=6, src_mask=sm, progress=False, return_model=True)
    for n, m in sm.masks.items():
        a, b = src.get_submodule(n).weight.detach(), net.get_submodule(n).weight.detach()
        assert torch.equal(a[m], b[m]) and not torch.equal(a[~m], b[~m])
    if protocol == 'isolate': assert res.source_after == res.source_masked == sm.accuracy


@pytest.mark.parametrize('method', ['ste', 'gumbel', 'topk'])
def test_adapt_leaves_source_exactly(setup, method):
    dom, src = setup
    before = {k: v.clone() for k, v in src.state_dict().items()}
    res = transfer(src, dom.source_train, dom.source_test, dom.target_train, dom.target_test, 'adapt', method, 0.5,
                   max_steps=4, progress=False)
    assert res.source_after == res.source_before and res.forgetting == 0
    assert all(torch.equal(before[k], v) for k, v in src.state_dict().items())


def test_batchnorm_source_statistics(setup):
    dom, _ = setup
    set_seed(0); r = torchvision_classifier('resnet18')
    s = ImageDataset(dom.source_train.images[:128], dom.source_train.labels[:128])
    t = ImageDataset(dom.target_train.images[:128], dom.target_train.labels[:128])
    fit(r, s, max_steps=2, bs=32, progress=False)
    stats = {k: v.clone() for k, v in r.state_dict().items() if 'running' in k}
    res = transfer(r, s, s, t, t, 'isolate', 'magnitude', 0.5, max_steps=2, progress=False)
    assert res.source_after == res.source_masked
    assert all(torch.equal(stats[k], v) for k, v in r.state_dict().items() if 'running' in k)


@pytest.mark.parametrize('args,msg', [(('swap', 'topk', 0.5), 'unknown protocol'), (('protect', 'lottery', 0.5), 'unknown mask method'),
                                      (('isolate', None, 0.5), 'needs a mask method'), (('adapt', 'random', 0.5), 'not learned'),
                                      (('finetune', 'gumbel', 0.5), 'uses no mask')])
def test_bad_runs_fail_before_training(setup, args, msg):
    dom, src = setup
    before = {k: v.clone() for k, v in src.state_dict().items()}
    with pytest.raises(ValueError, match=msg):
        transfer(src, dom.source_train, dom.source_test, dom.target_train, dom.target_test, *args, progress=False)
    assert all(torch.equal(before[k], v) for k, v in src.state_dict().items())


def test_different_label_sets(setup):
    dom, src = setup
    five = ImageDataset(dom.source_test.images[:40], dom.source_test.labels[:40] % 5)
    with pytest.raises(ValueError, match=r'labels the source has not \(5, 6, 7, 8, 9\)'):
        check_run('adapt', 'topk', 0.5, five, dom.target_test)
    check_run('adapt', 'topk', 0.5, dom.source_test, five)          # a target with fewer classes than the source is fine


def test_test_set_lacking_a_class_is_fine(setup):
    "Classes are compared as sets of labels, not counted as the largest label + 1."
    dom, src = setup
    keep = dom.target_test.labels != 9
    no_boots = ImageDataset(dom.target_test.images[keep], dom.target_test.labels[keep], dom.target_test.classes)
    r = transfer(src, dom.source_train, dom.source_test, dom.target_train, no_boots, 'finetune', None, None, max_steps=2, progress=False)
    assert 0 <= r.target_after <= 1


def test_tied_weights_counted_once(setup):
    "A Parameter shared by two layers is one tensor: trainable fraction and storage never count it twice (or go negative)."
    from torch import nn
    dom, _ = setup
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp, self.a, self.b, self.head = nn.Linear(784, 32), nn.Linear(32, 32), nn.Linear(32, 32), nn.Linear(32, 10)
            self.b.weight = self.a.weight
        def forward(self, x): return self.head(torch.relu(self.b(torch.relu(self.a(torch.relu(self.inp(x.flatten(1))))))))
    set_seed(0); m = Tied()
    s = ImageDataset(dom.source_train.images[:256], dom.source_train.labels[:256])
    t = ImageDataset(dom.target_train.images[:256], dom.target_train.labels[:256])
    n = sum(p.numel() for p in m.parameters())
    for protocol, method in (('isolate', 'magnitude'), ('protect', 'magnitude'), ('adapt', 'topk'), ('finetune', None)):
        r = transfer(m, s, s, t, t, protocol, method, None if method is None else 0.0, max_steps=2, progress=False)
        assert 0 <= r.trainable_fraction <= 1 and r.storage_bits >= 0, (protocol, r)
        if protocol == 'isolate': assert r.trainable_fraction == round((n - 784 * 32 - 32 * 32) / n, 6)
        if protocol == 'finetune': assert r.bits_per_weight == 32.0
