"Many domains: every input the chains cannot serve refused before work, and the --sequence flags honoured or refused (issue 23)."
import numpy as np, pytest, torch

from dwm_tutorial.cli import parse_args
from dwm_tutorial.sequence import (CHAINS, ChainResult, fashion_sequence, load_chains, merge_chains, plan_shares, run_chain,
                                   run_chains, save_chains)
from dwm_tutorial.models import SmallCNN


@pytest.fixture(scope='module')
def doms():
    return fashion_sequence(['identity', 'rot90', 'invert'], 'mini', train_size=128, test_size=50)


class Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(784, 784), torch.nn.Linear(784, 784)
        self.b.weight = self.a.weight                                   # tied
        self.head = torch.nn.Linear(784, 10)
    def forward(self, x): return self.head(torch.relu(self.b(torch.relu(self.a(x.flatten(1))))))


@pytest.mark.parametrize('chain', CHAINS)
def test_tied_weights_refused_before_work(doms, chain, monkeypatch):
    import dwm_tutorial.sequence as sq
    calls = []
    for f in ('fit', 'learn_masks', 'evaluate'): monkeypatch.setattr(sq, f, lambda *a, **k: calls.append(1))
    with pytest.raises(ValueError, match=r'ties b\.weight to a\.weight.*untie it'):
        run_chain(Tied(), doms, chain, 'topk' if chain in ('isolate', 'adapt') else None, progress=False)
    assert calls == []


def test_shares_numpy_scalars_and_empty_domains():
    assert plan_shares(3, np.float32(0.3)) == pytest.approx([0.3, 0.3, 0.4], abs=1e-6)
    assert plan_shares(3, np.array([0.2, 0.3])) == pytest.approx([0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="'domain 1' gets a share of 1e-12 of 420128 masked weights: less than one weight"):
        plan_shares(3, 1e-12, n_weights=420_128)
    with pytest.raises(ValueError, match="'c' gets a share of 1e-06"):          # the last one, what is left, too
        plan_shares(3, [0.5, 0.5 - 1e-6], names='abc', n_weights=420_128)


def test_run_chain_refuses_a_share_of_no_weight(doms, monkeypatch):
    import dwm_tutorial.sequence as sq
    monkeypatch.setattr(sq, 'fit', lambda *a, **k: pytest.fail('work started'))
    with pytest.raises(ValueError, match='less than one weight'):
        run_chain(SmallCNN(), doms, 'isolate', 'topk', share=1e-12, progress=False)
    with pytest.raises(ValueError, match='less than one weight'):
        run_chains(SmallCNN(), doms, ['copies', 'isolate'], 'topk', share=1e-12, progress=False)


def test_a_chain_listed_twice_is_refused(doms):
    with pytest.raises(ValueError, match="chain 'isolate' is listed twice"):
        run_chains(SmallCNN(), doms, ['isolate', 'isolate'], 'topk', progress=False)


def test_sequence_flags_honoured(tmp_path):
    a = parse_args(['--sequence', 'rot90', '--methods', 'topk', 'ste', '--sparsities', '0.9', '--protocols', 'adapt', 'copies',
                    '--seeds', '0', '1', '--out', str(tmp_path / 'r')])
    assert a.chain_options == dict(methods=['topk', 'ste'], sparsities=[0.9], chains=['adapt', 'copies']) and a.seeds == [0, 1]
    a = parse_args(['--sequence', '--out', str(tmp_path / 'r')])
    assert a.chain_options == dict(methods=['gumbel'], sparsities=[0.5], chains=list(CHAINS))


@pytest.mark.parametrize('args,msg', [(['--shifts', 'invert'], '--shifts invert has no meaning with --sequence'),
                                      (['--methods', 'random'], '--methods random'),
                                      (['--protocols', 'protect'], '--protocols protect'),
                                      (['--protocols', 'isolate', '--sparsities', '0.9'], 'leaves the adapt chain out'),
                                      (['--sparsities', '1.0'], 'sparsity in [0, 1)')])
def test_sequence_flags_refused_with_one_line(tmp_path, capsys, args, msg):
    with pytest.raises(SystemExit) as e:
        parse_args(['--sequence', 'rot90', *args, '--out', str(tmp_path / 'r')])
    assert e.value.code == 2 and msg in capsys.readouterr().err
    assert not (tmp_path / 'r').exists()


def _record(**kw):
    base = dict(chain='copies', method='none', domains=['identity', 'rot90'], accuracy=[[0.5, None], [0.5, 0.4]], average=0.45, bwt=0.0,
                kept=[None, None], layer_kept=[None, None], shares=None, sparsity=None, steps=[0, 2], stage_steps=[{}, {'finetune': 2}],
                min_steps=200, seconds=[0.0, 1.0], storage_bits=1, encoding='x', bitmask_bits=1, bits_per_weight=1.0, bits_per_domain=1.0,
                n_params=1, n_masked=1, fingerprints=[['a', None], ['a', 'b']], notes=[], seed=0, setting='s')
    return ChainResult(**{**base, **kw})


def test_merge_keeps_other_settings_and_refuses_a_foreign_file(tmp_path):
    p = tmp_path / 'sequence.csv'
    merge_chains(p, [_record(), _record(seed=1)], p.with_suffix('.json'))
    merge_chains(p, [_record(domains=['identity', 'invert']), _record(average=0.5)], p.with_suffix('.json'))   # one new, one replaced
    got = load_chains(p)
    assert len(got) == 3 and load_chains(p.with_suffix('.json')) == got
    assert [r.average for r in got if r.seed == 0 and r.domains[1] == 'rot90'] == [0.5]
    p.write_text('name,score\nmine,3\n')                                 # a user's own sequence.csv
    with pytest.raises(ValueError, match='another format.*move it away or pick another --out'):
        merge_chains(p, [_record()])
    assert p.read_text() == 'name,score\nmine,3\n'                       # never overwritten


def test_cli_refuses_a_foreign_sequence_csv_before_work(tmp_path):
    import subprocess, sys
    from pathlib import Path
    out = tmp_path / 'r'; out.mkdir(); (out / 'sequence.csv').write_text('name,score\nmine,3\n')
    r = subprocess.run([str(Path(sys.executable).parent / 'dwm-reproduce'), '--sequence', 'rot90', '--max-steps', '1', '--out', str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and 'another format' in r.stderr and r.stderr.count('\n') == 1, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ['sequence.csv'] and (out / 'sequence.csv').read_text() == 'name,score\nmine,3\n'
