"Issue 19: the validation split, the tuning sweep that never reads a test split, adapt's guard against the head-only control, the zero-storage baselines, and reading format-4 results."
import hashlib, json, warnings
import pytest, torch
from conftest import cli, write_root
from dwm_tutorial.data import ImageDataset, fashion_mnist, make_domains, register_shift, split_validation, take
from dwm_tutorial.masks import DEFAULTS, LEARNED
from dwm_tutorial.train import train_source
from dwm_tutorial.transfer import (RESULT_FORMAT, TransferResult, load_results, save_results, transfer, transfer_runs,
                                   V4_FIELDS)
from dataclasses import asdict, fields
from dwm_tutorial.report import records_digest


def test_sweep_never_reads_the_test_files(tmp_path):
    "The test files of --root are garbage: the grid cannot run, the sweep runs to the end (it never opens them)."
    root = write_root(tmp_path / 'root', n_train=1024)
    for name in ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'): (root / name).write_bytes(b'not a test set')
    code, out, err = cli('--root', str(root), '--sweep', 'adapt/topk', 'finetune', 'l2sp', '--max-steps', '3', '--min-steps', '3',
                         '--out', str(tmp_path / 'out'), '--no-progress')
    assert code == 0, err
    res = json.loads((tmp_path / 'out' / 'sweep_rot90.json').read_text())
    assert set(res['entries']) == {'adapt/topk', 'finetune', 'l2sp'}
    for e in res['entries'].values():
        assert len(e['curve']) == 5 and e['chosen'] in [p['value'] for p in e['curve']]
        assert all(0 <= p['target_val'] <= 1 for p in e['curve'])
    assert res['config']['n_source_train'] == 922 and 'no test image was read' in out     # 1,024 less the 10% validation split
    code, _, err = cli('--root', str(root), '--max-steps', '3', '--out', str(tmp_path / 'grid'), '--no-progress')
    assert code != 0 and 't10k' in err                        # the grid does read them: the files really are unreadable


def test_validation_split_reaches_the_records(tmp_path):
    root = write_root(tmp_path / 'root', n_train=1024)
    code, out, err = cli('--root', str(root), '--methods', 'topk', '--protocols', 'adapt', 'head', 'l2sp', 'ewc', 'joint',
                         '--frontier', '1e-4', '--max-steps', '3', '--min-steps', '3', '--out', str(tmp_path / 'out'), '--no-progress')
    assert code == 0, err
    everything = load_results(tmp_path / 'out' / 'results.csv')
    recs = {r.protocol: r for r in everything if not r.option}
    (low,) = [r for r in everything if r.option]                       # finetuning at a lower learning rate: a point of its curve
    assert low.option == 'lr=0.0001' and low.relative_target == round(low.target_after / recs['finetune'].target_after, 6)
    assert set(recs) == {'finetune', 'adapt', 'head', 'l2sp', 'ewc', 'joint'}
    for r in recs.values():
        assert 0 <= r.source_val <= 1 and 0 <= r.target_val <= 1 and 'val0.1' in r.setting
    assert recs['adapt'].source_val == recs['head'].source_val       # neither touches the source network
    assert [recs[p].source_data for p in ('finetune', 'adapt', 'ewc', 'joint')] == ['none', 'none', 'before', 'at target time']
    assert recs['l2sp'].storage_bits == recs['ewc'].storage_bits == recs['joint'].storage_bits == 0
    assert recs['finetune'].bits_per_weight == 32.0


@pytest.fixture(scope='module')
def hard():
    "A hard shift of a 4,000-image slice of the mini subset: inverted, multiplied by a fixed texture, overlaid with a shifted copy."
    def texture(x, g):
        h, w = x.shape[-2:]
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
        t = (torch.sin(xx * 1.3) * torch.cos(yy * 0.9) + 1) / 2
        return (0.6 * (1 - x) * t + 0.4 * torch.roll(x, 7, dims=-1)).clamp(0, 1)
    register_shift('texture_test', texture)
    tr, te = take(fashion_mnist('train', 'mini'), 4_000), take(fashion_mnist('test', 'mini'), 1_000)
    d = make_domains(tr, te, 'texture_test')
    src_fit, src_val = split_validation(d.source_train)
    tgt_fit, tgt_val = split_validation(d.target_train)
    model, _ = train_source(src_fit, None, min_steps=60, progress=False)
    return model, (src_fit, d.source_test, tgt_fit, d.target_test), dict(source_val=src_val, target_val=tgt_val)


def test_adapt_at_or_above_head_on_a_hard_shift(hard):
    "Every learned mask at 0.8 and 0.9 ends at or above the head-only control on a strong texture and contrast shift."
    model, data, vals = hard
    (head,), head_net = transfer_runs(model, *data, ('head',), None, None, min_steps=120, progress=False, **vals)
    assert head.target_after > head.target_before                  # the control learned something
    n_head = round(head.trainable_fraction * sum(p.numel() for p in head_net.parameters()))
    kept = 0
    for m in LEARNED:
        for sp in (0.8, 0.9):
            (r,), _ = transfer_runs(model, *data, ('adapt',), m, sp, min_steps=120, progress=False, head_net=(head_net, n_head), **vals)
            assert r.target_after >= head.target_after, (m, sp, r.target_after, head.target_after, r.note)
            if r.note:        # the guard stepped in: only for a mask below the control on validation, and then it is the control
                assert r.target_after == head.target_after and r.sparsity == 0.0 and r.note.startswith(f'guard: the {m} mask')
            else: kept += 1; assert abs(r.sparsity - sp) < 0.02 and r.target_val >= head.target_val
    # the masks do learn this shift, but not all of them beat the control: gumbel at 0.8 and 0.9 does (validation 0.705 and
    # 0.690 against 0.650); ste (0.49) and topk (0.64, 0.55) fall below it in 120 steps, and the guard keeps the control there
    assert kept >= 2, f"only {kept} of 6 learned masks beat the head-only control on their own"


def test_guard_keeps_the_head_when_the_mask_is_worse(hard):
    "A mask that cannot learn (lr 1e-9: the scores stay where they began, so the cut keeps an arbitrary hundredth of the weights) falls below the head-only control on validation: the guard keeps the control, and says so."
    model, data, vals = hard
    (head,), head_net = transfer_runs(model, *data, ('head',), None, None, min_steps=120, progress=False, **vals)
    n_head = round(head.trainable_fraction * sum(p.numel() for p in head_net.parameters()))
    with pytest.warns(UserWarning, match='guard: the ste mask at sparsity 0.99'):
        (r,), net = transfer_runs(model, *data, ('adapt',), 'ste', 0.99, min_steps=120, progress=False, mask_lr=1e-9,
                                  head_net=(head_net, n_head), **vals)
    assert r.note.startswith('guard:') and r.sparsity == 0.0 and r.target_val >= head.target_val
    assert r.target_after == head.target_after and r.storage_bits == head.storage_bits       # the control itself, trained alike
    (off,), _ = transfer_runs(model, *data, ('adapt',), 'ste', 0.99, min_steps=120, progress=False, mask_lr=1e-9, guard=False, **vals)
    assert off.note == '' and off.target_val < head.target_val and abs(off.sparsity - 0.99) < 0.02
    (plain,), _ = transfer_runs(model, *data, ('adapt',), 'ste', 0.99, min_steps=120, progress=False, mask_lr=1e-9)
    assert plain.note == '' and plain.target_val is None            # no validation set: no guard, and nothing to read it on


def test_baselines_pull_towards_the_source(hard):
    "L2-SP and EWC with a strong pull forget less than finetuning; with strength 0 they are finetuning at their rate exactly."
    from dwm_tutorial.transfer import STAGE2_LR, default_lr
    model, data, vals = hard
    kw = dict(min_steps=120, progress=False)
    assert default_lr('l2sp') == default_lr('ewc') == STAGE2_LR
    ft = transfer(model, *data, 'finetune', None, None, lr=STAGE2_LR, **kw)
    for p in ('l2sp', 'ewc'):
        zero = transfer(model, *data, p, None, None, strength=0.0, **kw)
        assert (zero.source_after, zero.target_after) == (ft.source_after, ft.target_after)
        strong = transfer(model, *data, p, None, None, strength=1e4 if p == 'ewc' else 10.0, **kw)
        assert strong.source_after > ft.source_after, (p, strong.source_after, ft.source_after)
    with pytest.raises(ValueError, match="strength=1.0 is the pull towards the source weights"):
        transfer(model, *data, 'finetune', None, None, strength=1.0)
    with pytest.raises(ValueError, match="mask_lr=0.1 is the learning rate"):
        transfer(model, *data, 'isolate', 'magnitude', 0.8, mask_lr=0.1)


def test_format_4_results_are_read(tmp_path):
    "A results file of the previous format (22 columns) is read, its new fields empty and its records still saying format 4; written back, it reads the same, and its digest is the one it had."
    rec = TransferResult('topk', 'isolate', 'rot90', 0.8, 0.8, {'fc': 0.2}, 0.9, 0.85, 0.1, 0.8, 0.05, 0.944444, 0.98, 0.85, 0.7,
                         468_576, 1.1113, 1.5, 0, 'mini', source_val=0.9, note='x')
    names = [f.name for f in fields(TransferResult)][:V4_FIELDS]
    row = {k: v for k, v in asdict(rec).items() if k in names}
    row['format'] = 4
    csv = ','.join(names) + '\n' + ','.join('' if row[k] is None else json.dumps(row[k]) if isinstance(row[k], dict) else str(row[k])
                                            for k in names).replace('{"fc": 0.2}', '"{""fc"": 0.2}"') + '\n'
    (tmp_path / 'old.csv').write_text(csv)
    (tmp_path / 'old.json').write_text(json.dumps([row]))
    for f in ('old.csv', 'old.json'):
        (got,) = load_results(tmp_path / f)
        assert got.format == 4 and got.source_val is None and got.note == '' and got.option == ''
        assert got.target_after == 0.8 and got.layer_density == {'fc': 0.2}
    save_results([got], tmp_path / 'new.csv'); assert load_results(tmp_path / 'new.csv') == [got]
    assert records_digest([got]) != records_digest([rec])          # rec has source_val and a note set: they count
    made_then = json.dumps({k: v for k, v in row.items() if k != 'seconds'}, sort_keys=True)     # the digest as format 4 made it
    assert records_digest([got]) == hashlib.sha256(made_then.encode()).hexdigest()[:16]


def test_grid_options_checked(mini):
    "run_grid passes guard=False on, refuses a strength or mask_lr no run can use, and names a target too small to split; the CLI keeps grid-only flags away from --sequence."
    from dwm_tutorial.models import SmallCNN
    from dwm_tutorial.transfer import plan_runs, run_grid
    tr, te = take(mini[0], 300), take(mini[1], 100)
    plan = plan_runs(['rot90'], ['topk'], [0.8], ['adapt', 'head'])
    kw = dict(max_steps=2, min_steps=2, progress=False)
    recs = run_grid(SmallCNN(), tr, te, {}, plan, guard=False, **kw)
    assert {r.protocol for r in recs} == {'finetune', 'adapt', 'head'} and all(r.note == '' for r in recs)
    with pytest.raises(ValueError, match=r"no run of the grid can use strength=2.0"):
        run_grid(SmallCNN(), tr, te, {}, plan, strength=2.0, **kw)
    with pytest.raises(ValueError, match="the target train set of tiny: .*at least one"):
        run_grid(SmallCNN(), tr, te, {'tiny': (take(tr, 3), te)}, plan_runs(['tiny'], protocols=()), **kw)
    with pytest.raises(ValueError, match="frontier: every finetuning learning rate must be a positive number, got -1"):
        plan_runs(['rot90'], frontier=[-1])
    code, _, err = cli('--sequence', '--width', '4')
    assert code == 2 and "--width shapes the grid's source model; --sequence trains its own" in err


def test_defaults_are_the_sweeps_one_se_choice():
    "Every default the sweep tunes is the one-SE choice on the mean validation curve of the committed sweeps (two shifts or more)."
    import math
    from pathlib import Path
    from dwm_tutorial.transfer import ADAPT_LR_FACTOR, LR_DEFAULTS, REG_DEFAULTS
    from dwm_tutorial.tune import ENTRIES, combine
    files = sorted((Path(__file__).parent.parent / 'bench' / 'results').glob('sweep_*.json'))
    res = combine(files)
    assert set(res) == set(ENTRIES)
    for name, e in res.items():
        assert len(e['shifts']) >= 2 and len(e['curve']) >= 5, (name, e['shifts'], len(e['curve']))
        assert math.isclose(e['chosen'], ENTRIES[name]['centre'], rel_tol=1e-6), (name, e['chosen'], ENTRIES[name]['centre'])
    # the centres are the package's defaults (ENTRIES reads them; isolate's factor 1 is masks.mask_lr itself)
    assert [ENTRIES[f'adapt/{m}']['centre'] for m in LEARNED] == [ADAPT_LR_FACTOR[m] for m in LEARNED]
    assert (ENTRIES['finetune']['centre'], ENTRIES['head']['centre']) == (LR_DEFAULTS['finetune'], LR_DEFAULTS['head'])
    assert (ENTRIES['l2sp']['centre'], ENTRIES['ewc']['centre']) == (REG_DEFAULTS['l2sp'], REG_DEFAULTS['ewc'])


def test_adapt_head_rate_is_the_checks_best():
    "adapt's head-and-bias rate (no sweep entry) is the value with the best mean validation score in its three-value check."
    from pathlib import Path
    from dwm_tutorial.transfer import LR_DEFAULTS
    res = json.loads((Path(__file__).parent.parent / 'bench' / 'results' / 'adapt_head_lr.json').read_text())
    scores = {}
    for curves in res['runs'].values():
        for pts in curves.values():
            for p in pts: scores.setdefault(round(p['value'], 8), []).append(p['score'])
    assert len(res['runs']) >= 2 and all(len(v) == len(res['runs']) * 3 for v in scores.values())
    best = max(scores, key=lambda v: sum(scores[v]) / len(scores[v]))
    assert abs(best - LR_DEFAULTS['adapt']) < 1e-9, (best, LR_DEFAULTS['adapt'])


def test_head_default_learns_on_a_hard_shift(hard):
    "The head-only control at its default rate learns a small hard shift: far above chance and above the same control at a tenth of the rate. (The head's own curve peaks at 3.16e-2 on the full data, one step from a collapse; here that rate reached 0.17.)"
    from dwm_tutorial.transfer import default_lr
    model, data, vals = hard
    (dflt,), _ = transfer_runs(model, *data, ('head',), None, None, min_steps=120, progress=False, **vals)
    (slow,), _ = transfer_runs(model, *data, ('head',), None, None, min_steps=120, progress=False, lr=default_lr('head') / 10, **vals)
    assert dflt.target_val >= 0.5 and dflt.target_val > slow.target_val, (dflt.target_val, slow.target_val)
