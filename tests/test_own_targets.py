"Issue 24: a target domain given only as data, under a name that is not a registered shift, runs through the whole grid."
import math
import pytest, torch

from dwm_tutorial.data import SHIFTS, ImageDataset, fashion_mnist, random_subset, shift_dataset, take
from dwm_tutorial.models import SmallCNN
from dwm_tutorial.train import evaluate, fit, set_seed
from dwm_tutorial import transfer as T
from dwm_tutorial.transfer import load_results, plan_runs, run_grid


def scans(ds):
    "A user's own target: the images transposed and darker (no shift function is registered for it)."
    x = ds.images.float() / 255
    return ImageDataset(x.transpose(-1, -2).pow(2.0), ds.labels.clone(), ds.classes)


@pytest.fixture(scope='module')
def pair():
    tr, te = random_subset(fashion_mnist('train', 'mini'), 768), take(fashion_mnist('test', 'mini'), 256)
    set_seed(0); src = SmallCNN(); fit(src, tr, max_steps=30, progress=False)
    return src, tr, te, {'my_scans': (scans(tr), scans(te))}


def test_grid_on_a_target_given_as_data(pair, tmp_path):
    src, tr, te, targets = pair
    assert 'my_scans' not in SHIFTS
    plan = plan_runs(['my_scans'], ['topk', 'magnitude'], [0.8], ('protect', 'isolate', 'adapt'))
    res = run_grid(src, tr, te, targets, plan, tmp_path / 'r.csv', max_steps=3, min_steps=0, progress=False)
    got = sorted((r.protocol, r.method) for r in res)
    assert got == sorted([('finetune', 'none'), ('protect', 'topk'), ('isolate', 'topk'), ('adapt', 'topk'),
                          ('protect', 'magnitude'), ('isolate', 'magnitude')])
    assert {r.shift for r in res} == {'my_scans'}
    tgt_te = targets['my_scans'][1]
    assert all(r.target_before == evaluate(src, tgt_te) and r.source_before == evaluate(src, te) for r in res)
    ft = next(r for r in res if r.protocol == 'finetune')
    for r in res:
        if r.protocol == 'isolate': assert r.source_after == r.source_masked            # the source served through its mask
        if r.protocol == 'adapt': assert r.source_after == r.source_before and r.forgetting == 0
        if r.protocol != 'finetune': assert math.isclose(r.relative_target, r.target_after / ft.target_after, rel_tol=1e-5)
        if r.sparsity is not None and not r.note: assert abs(r.sparsity - 0.8) <= 0.02   # (a note: the guard kept the control)
    assert load_results(tmp_path / 'r.csv') == res                                    # saved under the target's own name


def test_a_registered_shift_left_out_of_targets_is_made_from_the_source(pair):
    src, tr, te, _ = pair
    res = run_grid(src, tr, te, {}, plan_runs(['vflip'], protocols=()), max_steps=2, min_steps=0, progress=False)
    assert [(r.protocol, r.shift) for r in res] == [('finetune', 'vflip')]
    assert res[0].target_before == evaluate(src, shift_dataset(te, 'vflip', 1))       # make_domains' test-set twin


def test_an_unknown_name_is_refused_before_any_work(pair, tmp_path, monkeypatch):
    src, tr, te, targets = pair
    def boom(*a, **k): raise AssertionError('work started before the targets were checked')
    for name in ('fit', 'evaluate', 'source_mask', 'transfer_runs'): monkeypatch.setattr(T, name, boom)
    built = []
    with pytest.raises(ValueError) as e:
        run_grid(lambda seed: built.append(seed), tr, te, targets, plan_runs(['my_scan'], ['topk'], [0.8]), tmp_path / 'r.csv')
    msg = str(e.value)
    assert "'my_scan'" in msg and "targets={'my_scan': (train_ds, test_ds)}" in msg and "register_shift('my_scan', fn)" in msg
    assert "'my_scans'" in msg                                   # the names it does have, so a typo is easy to see
    assert built == [] and not (tmp_path / 'r.csv').exists()
