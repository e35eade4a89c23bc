"""Every bad input is refused before any work, with a message that names the bad value.

Two tables: the `dwm-reproduce` command (run in-process through `main`, as the console script does) and the public
API. For the command each case asserts the exit code, that the message names the bad value, that no traceback reaches
the user and that no file was written; for the API, the exception type, the message, and that no training started.
"""
import contextlib, gzip, io, math, re, shutil
from pathlib import Path

import pytest, torch

from dwm_tutorial import transfer as T, train as TR
from dwm_tutorial.cli import main
from dwm_tutorial.data import ImageDataset, MINI_NAME, data_dirs, fashion_mnist, root_files, write_idx
from dwm_tutorial.masks import add_masks, learn_masks
from dwm_tutorial.models import SmallCNN
from dwm_tutorial.train import fit, get_device, load_checkpoint, save_checkpoint, set_seed, train_source
from dwm_tutorial.transfer import (SourceMask, TransferResult, check_run, load_results, plan_runs, run_grid, save_results, transfer,
                                   transfer_runs)

NO_GPU = not torch.cuda.is_available()
IDX = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob('*'))


def mini_dir():
    return next(d for d in data_dirs() if (d / MINI_NAME).is_dir()) / MINI_NAME


# ---------------------------------------------------------------- fixtures the CLI cases name with a {placeholder}
def make_fixtures(tmp):
    "Folders and files some cases need, made before the snapshot (so 'no file written' compares against them)."
    f = tmp / 'afile'; f.write_text('x')
    (tmp / 'empty').mkdir()
    three = tmp / 'three'; three.mkdir()
    for n in IDX[:3]: (three / n).write_bytes(b'')
    trainonly = tmp / 'trainonly'; trainonly.mkdir()
    for n in IDX[:2]: (trainonly / n).write_bytes(b'')
    damaged = tmp / 'damaged'; damaged.mkdir()
    for n in IDX: (damaged / n).write_bytes(b'\x00\x00\x08\x01\x00\x00\x00\x05ab')      # promises 5 bytes, holds 2
    edited = tmp / 'edited' / MINI_NAME; shutil.copytree(mini_dir(), edited)
    p = edited / 't10k-labels-idx1-ubyte.gz'
    raw = bytearray(gzip.open(p).read()); raw[-1] = (raw[-1] + 1) % 10
    with gzip.open(p, 'wb') as g: g.write(bytes(raw))
    old = tmp / 'oldfmt'; old.mkdir(); (old / 'results.csv').write_text('method,acc\ntopk,0.5\n')
    oldj = tmp / 'oldjson'; oldj.mkdir(); (oldj / 'results.json').write_text('{"acc": 0.5}')
    cachefile = tmp / 'cachefile'; cachefile.mkdir(); (cachefile / 'cache').write_text('x')
    return dict(file=f, empty=tmp / 'empty', three=three, trainonly=trainonly, damaged=damaged, edited=tmp / 'edited',
                oldfmt=old, oldjson=oldj, cachefile=cachefile, nowhere=tmp / 'nowhere', tmp=tmp)


# (id, argv, expected exit code, text the message must contain); {name} is a fixture path; --out defaults to {tmp}/out
CLI = [
    ('shift-unknown', ['--shifts', 'rot45'], 2, "'rot45'"),
    ('shift-case', ['--shifts', 'ROT90'], 2, "'ROT90'"),
    ('shift-one-bad', ['--shifts', 'rot90', 'spin'], 2, "'spin'"),
    ('method-unknown', ['--methods', 'snip'], 2, "'snip'"),
    ('method-internal', ['--methods', 'fixed'], 2, "'fixed'"),
    ('methods-empty', ['--methods'], 2, '--methods'),
    ('protocol-unknown', ['--protocols', 'distill'], 2, "'distill'"),
    ('adapt-no-learned', ['--protocols', 'adapt', '--methods', 'magnitude'], 2, 'magnitude'),
    ('adapt-no-learned-2', ['--protocols', 'adapt', '--methods', 'random', 'global_magnitude'], 2, 'random, global_magnitude'),
    ('sparsity-one', ['--sparsities', '1'], 2, 'got 1.0'),
    ('sparsity-negative', ['--sparsities', '-0.1'], 2, 'got -0.1'),
    ('sparsity-nan', ['--sparsities', 'nan'], 2, 'got nan'),
    ('sparsity-inf', ['--sparsities', 'inf'], 2, 'got inf'),
    ('sparsity-text', ['--sparsities', 'abc'], 2, "'abc'"),
    ('epochs-zero', ['--epochs', '0'], 2, '--epochs must be >= 1, got 0'),
    ('epochs-negative', ['--epochs', '-3'], 2, 'got -3'),
    ('epochs-float', ['--epochs', '1.5'], 2, "'1.5'"),
    ('ft-epochs-zero', ['--ft-epochs', '0'], 2, '--ft-epochs must be >= 1, got 0'),
    ('mask-epochs-zero', ['--mask-epochs', '0'], 2, '--mask-epochs must be >= 1, got 0'),
    ('max-steps-zero', ['--max-steps', '0'], 2, '--max-steps must be >= 1, got 0'),
    ('max-steps-negative', ['--max-steps', '-2'], 2, 'got -2'),
    ('target-size-negative', ['--target-size', '-5'], 2, 'got -5'),
    ('seed-negative', ['--seed', '-1'], 2, '-1'),
    ('seed-2**64', ['--seed', str(2**64)], 2, str(2**64)),
    ('seeds-2**32', ['--seeds', '0', str(2**32)], 2, str(2**32)),
    ('seed-and-seeds', ['--seed', '1', '--seeds', '2'], 2, 'not both'),
    ('device-unknown', ['--device', 'tpu'], 2, "'tpu'"),
    ('device-empty', ['--device', ''], 2, "''"),
    ('device-index', ['--device', 'cuda:7'], 2, "'cuda:7'"),
    pytest.param('device-cuda', ['--device', 'cuda'], 2, "'cuda'", marks=pytest.mark.skipif(not NO_GPU, reason='a GPU is here')),
    ('root-missing', ['--root', '{nowhere}'], 2, 'nowhere does not exist'),
    ('root-file', ['--root', '{file}'], 2, 'is a file'),
    ('root-empty', ['--root', '{empty}'], 2, 'holds none of the four'),
    ('root-three-files', ['--root', '{three}'], 2, 'lacks t10k-labels-idx1-ubyte'),
    ('root-train-only-full', ['--full', '--root', '{trainonly}'], 2, 'lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte'),
    ('root-damaged', ['--root', '{damaged}', '--no-progress'], 1, 'truncated or damaged'),
    ('root-edited-mini', ['--root', '{edited}', '--no-progress'], 1, 'checksum'),
    ('out-file', ['--out', '{file}'], 2, 'is a file'),
    ('out-under-file', ['--out', '{file}/sub'], 2, 'is a file'),
    ('out-cache-file', ['--out', '{cachefile}'], 2, 'cache is a file'),
    ('out-other-format', ['--out', '{oldfmt}'], 2, 'another format'),
    ('out-other-json', ['--out', '{oldjson}'], 2, 'another format'),
    ('sequence-unknown', ['--sequence', 'rot45'], 2, "'rot45'"),
    ('sequence-repeat', ['--sequence', 'rot90', 'rot90'], 2, "repeated: 'rot90'"),
    ('flag-unknown', ['--methdos', 'topk'], 2, '--methdos'),
]


@pytest.mark.parametrize('case,argv,code,text', CLI)
def test_cli_refuses(tmp_path, monkeypatch, case, argv, code, text):
    fx = make_fixtures(tmp_path)
    argv = [a.format(**fx) for a in argv]
    if '--out' not in argv: argv += ['--out', str(tmp_path / 'out')]
    monkeypatch.setattr(TR, 'fit', lambda *a, **k: pytest.fail('training started'))
    before = files_under(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main(argv)
    msg = err.getvalue()
    assert e.value.code == code, msg
    assert text in msg, msg
    assert 'Traceback' not in msg + out.getvalue()
    assert msg.count('error:') == 1 and msg.rstrip().splitlines()[-1].startswith('dwm-reproduce: error:'), msg
    assert files_under(tmp_path) == before                     # nothing written, not even the --out folder


def test_cli_unwritable_out(tmp_path):
    "A folder that cannot be written to is found by a probe, before any work."
    target = Path('/sys/dwm-tutorial-probe')                    # not writable, even for root, on Linux
    try: target.mkdir(); target.rmdir(); pytest.skip('/sys is writable here')
    except OSError: pass
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main(['--out', str(target)])
    assert e.value.code == 2 and 'not writable' in err.getvalue() and str(target) in err.getvalue()
    assert 'Traceback' not in err.getvalue()


# ---------------------------------------------------------------- the API
@pytest.fixture(scope='module')
def data():
    g = torch.Generator().manual_seed(0)
    ds = ImageDataset(torch.rand(40, 1, 28, 28, generator=g), torch.arange(40) % 10)
    return ds


def _no_work(monkeypatch):
    def refuse(*a, **k): pytest.fail('work started before the inputs were checked')
    for mod, names in ((T, ('fit', 'learn_masks', 'evaluate', 'source_mask')), (TR, ('fit',))):
        for n in names: monkeypatch.setattr(mod, n, refuse)


def tied_error(fn, exc, text, monkeypatch):
    _no_work(monkeypatch)
    with pytest.raises(exc) as e: fn()
    assert text in str(e.value), str(e.value)


def A(ds):
    "Source and target datasets for transfer calls."
    return (SmallCNN(), ds, ds, ds, ds)


def empty(ds): return ImageDataset(ds.images[:0], ds.labels[:0])


def shifted_labels(ds): return ImageDataset(ds.images[:10], ds.labels[:10] % 5)


API = [
    ('fit-lr-zero', lambda d: fit(SmallCNN(), d, lr=0), ValueError, 'got 0'),
    ('fit-lr-nan', lambda d: fit(SmallCNN(), d, lr=math.nan), ValueError, 'got nan'),
    ('fit-epochs-zero', lambda d: fit(SmallCNN(), d, epochs=0), ValueError, 'epochs must be'),
    ('fit-bs-zero', lambda d: fit(SmallCNN(), d, bs=0), ValueError, 'bs (batch size)'),
    ('fit-opt-adamw', lambda d: fit(SmallCNN(), d, opt='adamw'), ValueError, "'adamw'"),
    ('fit-max-steps-zero', lambda d: fit(SmallCNN(), d, max_steps=0), ValueError, 'max_steps'),
    ('fit-momentum', lambda d: fit(SmallCNN(), d, opt='sgd', momentum=1.5), ValueError, 'got 1.5'),
    ('fit-weight-decay', lambda d: fit(SmallCNN(), d, weight_decay=-1), ValueError, 'got -1'),
    ('fit-seed-negative', lambda d: fit(SmallCNN(), d, seed=-1), ValueError, 'got -1'),
    ('fit-device', lambda d: fit(SmallCNN(), d, device='tpu'), ValueError, "'tpu'"),
    pytest.param('fit-cuda', lambda d: fit(SmallCNN(), d, device='cuda'), ValueError, 'no usable CUDA GPU',
                 marks=pytest.mark.skipif(not NO_GPU, reason='a GPU is here')),
    ('set-seed-2**64', lambda d: set_seed(2**64), ValueError, str(2**64)),
    ('get-device-gpu', lambda d: get_device('gpu'), ValueError, "'gpu'"),
    ('train-source-unknown-kw', lambda d: train_source(d, epocs=1), TypeError, 'epocs'),
    ('train-source-hook-cached', lambda d: train_source(d, cache='/tmp/x.pt', extra_loss=lambda m: 0), ValueError, 'extra_loss'),
    ('train-source-cache-under-file', lambda d: train_source(d, cache=__file__ + '/src.pt'), NotADirectoryError, 'is a file'),
    ('adapt-opt', lambda d: transfer(*A(d), 'adapt', 'topk', 0.5, opt='sgd'), ValueError, "opt='sgd'"),
    ('adapt-weight-decay', lambda d: transfer(*A(d), 'adapt', 'topk', 0.5, weight_decay=0.1), ValueError, 'weight_decay=0.1'),
    ('adapt-momentum', lambda d: transfer(*A(d), 'adapt', 'gumbel', 0.5, momentum=0.5), ValueError, 'momentum=0.5'),
    ('transfer-opt-bogus', lambda d: transfer(*A(d), 'isolate', 'topk', 0.5, opt='bogus'), ValueError, "'bogus'"),
    ('finetune-unknown-kw', lambda d: transfer(*A(d), 'finetune', None, None, tua=2.0), TypeError, 'tua'),
    ('finetune-mask-option', lambda d: transfer(*A(d), 'finetune', None, None, tau=2.0), ValueError, 'tau=2.0'),
    ('topk-tau', lambda d: transfer(*A(d), 'isolate', 'topk', 0.5, tau=2.0), ValueError, 'tau=2.0'),
    ('topk-penalty', lambda d: transfer(*A(d), 'protect', 'topk', 0.5, penalty=1e-4), ValueError, 'penalty=0.0001'),
    ('ste-penalty-with-target', lambda d: transfer(*A(d), 'isolate', 'ste', 0.5, penalty=1e-4), ValueError, 'sparsity=0.5'),
    ('transfer-epochs-zero', lambda d: transfer(*A(d), 'isolate', 'ste', 0.5, epochs=0), ValueError, 'epochs must be'),
    ('transfer-mask-epochs-zero', lambda d: transfer(*A(d), 'isolate', 'ste', 0.5, mask_epochs=0), ValueError, 'mask_epochs'),
    ('transfer-sparsity-text', lambda d: transfer(*A(d), 'isolate', 'topk', 'abc'), ValueError, "'abc'"),
    ('transfer-sparsity-one', lambda d: transfer(*A(d), 'isolate', 'topk', 1.0), ValueError, 'got 1.0'),
    ('transfer-sparsity-nan', lambda d: transfer(*A(d), 'isolate', 'topk', math.nan), ValueError, 'got nan'),
    ('transfer-sparsity-bool', lambda d: transfer(*A(d), 'isolate', 'topk', True), ValueError, 'got True'),
    ('transfer-seed', lambda d: transfer(*A(d), 'finetune', None, None, seed=-1), ValueError, 'got -1'),
    ('transfer-device', lambda d: transfer(*A(d), 'finetune', None, None, device='tpu'), ValueError, "'tpu'"),
    ('protocols-empty', lambda d: transfer_runs(*A(d), ()), ValueError, 'protocols is empty'),
    ('protocols-string', lambda d: transfer_runs(*A(d), 'isolate'), TypeError, "the string 'isolate'"),
    ('protocols-unshareable', lambda d: transfer_runs(*A(d), ('finetune', 'adapt'), 'topk', 0.5), ValueError, 'uses no mask'),
    ('target-test-empty', lambda d: transfer(SmallCNN(), d, d, d, empty(d), 'finetune', None, None), ValueError, 'target_test is empty'),
    ('source-train-empty', lambda d: transfer(SmallCNN(), empty(d), d, d, d, 'finetune', None, None), ValueError, 'source_train is empty'),
    ('target-labels-not-in-source', lambda d: transfer(SmallCNN(), shifted_labels(d), shifted_labels(d), d, d, 'finetune', None, None),
     ValueError, 'labels the source has not (5, 6, 7, 8, 9)'),
    ('src-mask-type', lambda d: transfer(*A(d), 'isolate', 'topk', 0.5, src_mask={'fc': 1}), TypeError, 'src_mask'),
    ('src-mask-other', lambda d: transfer(*A(d), 'isolate', 'topk', 0.5, src_mask=SourceMask('magnitude', 0.5, {}, .5, .5, 0.)),
     ValueError, 'magnitude'),
    ('adapt-control', lambda d: check_run('adapt', 'random', 0.5), ValueError, "'random'"),
    ('plan-string', lambda d: plan_runs('rot90'), TypeError, "the string 'rot90'"),
    ('plan-shift', lambda d: plan_runs(['rot,45']), ValueError, "'rot,45'"),
    ('plan-adapt-no-learned', lambda d: plan_runs(['rot90'], ['magnitude'], [0.5], ['adapt']), ValueError, '(magnitude)'),
    ('plan-sparsity-text', lambda d: plan_runs(['rot90'], ['topk'], ['abc']), ValueError, "'abc'"),
    ('plan-methods-empty', lambda d: plan_runs(['rot90'], [], [0.5], ['isolate']), ValueError, 'methods is empty'),
    ('plan-shifts-empty', lambda d: plan_runs([]), ValueError, 'shifts is empty'),
    ('grid-seeds-empty', lambda d: run_grid(SmallCNN(), d, d, {'rot90': (d, d)}, plan_runs(['rot90']), seeds=[]), ValueError,
     'seeds is empty'),
    ('grid-seed-2**64', lambda d: run_grid(SmallCNN(), d, d, {'rot90': (d, d)}, plan_runs(['rot90']), seeds=[0, 2**64]), ValueError,
     str(2**64)),
    ('grid-runs-empty', lambda d: run_grid(SmallCNN(), d, d, {'rot90': (d, d)}, []), ValueError, 'runs is empty'),
    ('grid-sets-shift', lambda d: run_grid(SmallCNN(), d, d, {'rot90': (d, d)}, plan_runs(['rot90']), shift='x'), TypeError, 'shift'),
    ('grid-option-unused', lambda d: run_grid(SmallCNN(), d, d, {'rot90': (d, d)}, plan_runs(['rot90']), tau=2.0), ValueError, 'tau=2.0'),
    ('grid-no-target', lambda d: run_grid(SmallCNN(), d, d, {}, plan_runs(['rot45'])), ValueError, "targets={'rot45': (train_ds, test_ds)}"),
    ('grid-epochs-zero', lambda d: run_grid(SmallCNN(), d, d, {'rot90': (d, d)}, plan_runs(['rot90']), epochs=0), ValueError, 'epochs'),
    ('labels-negative', lambda d: ImageDataset(d.images[:3], torch.tensor([0, -1, 2])), ValueError, 'label -1 at index 1'),
    ('labels-fraction', lambda d: ImageDataset(d.images[:3], torch.tensor([0., 2.5, 1.])), ValueError, 'label 2.5'),
    ('labels-count', lambda d: ImageDataset(d.images[:3], torch.tensor([0, 1])), ValueError, 'one to one'),
    ('fixed-without-masks', lambda d: add_masks(SmallCNN(), 'fixed'), ValueError, "'fixed'"),
    ('masks-twice', lambda d: add_masks(_masked('topk'), 'magnitude', 0.5, include_head=True), ValueError, "'topk' masks"),
    ('masks-method', lambda d: add_masks(SmallCNN(), 'snip', 0.5), ValueError, "'snip'"),
    ('masks-sparsity', lambda d: add_masks(SmallCNN(), 'topk', 1.0), ValueError, 'got 1.0'),
    ('learn-bs-zero', lambda d: learn_masks(_masked('topk'), d, bs=0), ValueError, 'got 0'),
    ('learn-ramp-zero', lambda d: learn_masks(_masked('topk'), d, ramp=0), ValueError, 'got 0'),
    ('learn-lr-zero', lambda d: learn_masks(_masked('ste'), d, lr=0), ValueError, 'lr must be a positive number, got 0'),
    ('learn-fixed', lambda d: learn_masks(_masked('magnitude'), d), ValueError, "'magnitude'"),
    ('fashion-split', lambda d: fashion_mnist('valid'), ValueError, "'valid'"),
    ('fashion-root-missing', lambda d: fashion_mnist('train', root='/no/such/folder'), FileNotFoundError, '/no/such/folder'),
    ('root-is-file', lambda d: root_files(__file__), NotADirectoryError, 'is a file'),
]


def _masked(method):
    m = SmallCNN(); add_masks(m, method, 0.5); return m


@pytest.mark.parametrize('case,fn,exc,text', API)
def test_api_refuses(data, monkeypatch, case, fn, exc, text):
    tied_error(lambda: fn(data), exc, text, monkeypatch)


# ---------------------------------------------------------------- files given to the API
def _rec(seed=0):
    return TransferResult('topk', 'isolate', 'rot90', 0.8, 0.8, {'fc': 0.2}, 0.9, 0.85, 0.1, 0.8, 0.05, 0.94, 0.98, 0.85, 0.7,
                          468_576, 1.11, 1.5, seed, 's')


def _line(text, i, change):
    lines = text.splitlines(); lines[i] = change(lines[i]); return '\n'.join(lines) + '\n'


FILES = [
    ('results-truncated', lambda t: t[:-25], 'row 3 (line 4), column'),
    ('results-bad-number', lambda t: t.replace(',0.85,', ',O.85,', 1), "column source_after: 'O.85' is not a number"),
    ('results-bad-int', lambda t: t.replace(',468576,', ',468576.5,', 1), 'column storage_bits'),
    ('results-extra-column', lambda t: _line(t, 2, lambda l: l + ',x'), 'row 2 (line 3): 28 columns where the header has 27'),
    ('results-short-row', lambda t: _line(t, 1, lambda l: l.split(',', 5)[-1]), 'row 1 (line 2), column'),
    ('results-bad-json-cell', lambda t: t.replace('"{""fc"": 0.2}"', '{fc', 1), 'column layer_density'),
]


@pytest.mark.parametrize('case,damage,text', FILES)
def test_damaged_results_file(tmp_path, case, damage, text):
    p = save_results([_rec(0), _rec(1), _rec(2)], tmp_path / 'r.csv')
    p.write_text(damage(p.read_text()))
    with pytest.raises(ValueError) as e: load_results(p)
    assert text in str(e.value) and str(p) in str(e.value), str(e.value)


@pytest.mark.parametrize('content', [b'', b'junk', None])
def test_damaged_checkpoint(tmp_path, content):
    good = save_checkpoint(SmallCNN(), tmp_path / 'good.pt')
    bad = tmp_path / 'bad.pt'
    bad.write_bytes(good.read_bytes()[:1000] if content is None else content)
    with pytest.raises(ValueError, match=re.escape(str(bad))): load_checkpoint(bad)
