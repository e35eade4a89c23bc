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
    five = ImageDataset(dom.target_test.images[:40], dom.target_test.labels[:40] % 5)
    with pytest.raises(ValueError, match='different numbers of classes'):
        check_run('adapt', 'topk', 0.5, dom.source_test, five)
