"Many domains on one network: exact backward transfer for the mask chains, storage tied to what is saved, bad inputs refused before any work."
import io, math

import pytest, torch

from dwm_tutorial.data import ImageDataset
from dwm_tutorial.sequence import (CHAIN_METHODS, Domain, check_domains, fashion_sequence, fingerprint, load_chain, load_chains, plan_shares,
                                   run_chain, run_chains, save_chain, save_chains)
from dwm_tutorial.train import evaluate, fit, set_seed, train_source
from dwm_tutorial.transfer import kept_for, payload_bits, storage_bits, view_state


@pytest.fixture(scope='module')
def setup():
    doms = fashion_sequence(['identity', 'rot90', 'invert'], 'mini', train_size=256, test_size=100)
    src, _ = train_source(doms[0].train, epochs=1, max_steps=20, progress=False)
    return doms, src


@pytest.mark.parametrize('chain,method', [('isolate', 'ste'), ('isolate', 'topk'), ('isolate', 'magnitude'), ('adapt', 'magnitude')])
def test_mask_chains_keep_every_domain_exactly(setup, chain, method):
    doms, src = setup
    before = fingerprint(src)
    r = run_chain(src, doms, chain, method, max_steps=2, progress=False)
    K = len(doms)
    for i in range(K):
        for j in range(i + 1):      # domain j's serving network, rebuilt after domain i: the same tensors, the same accuracy
            assert r.fingerprints[i][j] == r.fingerprints[j][j] and r.accuracy[i][j] == r.accuracy[j][j]
    assert r.unchanged and r.bwt == 0.0
    # the stored network under each domain's mask serves it exactly as measured
    assert [evaluate(n, d.test) for n, d in zip(r.networks, doms)] == r.accuracy[-1]
    assert fingerprint(src) == before                                  # the source model is never changed
    if chain == 'isolate':
        assert r.kept[:-1] == pytest.approx(plan_shares(K)[:-1], abs=2e-3)
        assert sum(r.kept) == pytest.approx(1.0, abs=1e-9)            # every weight is owned by exactly one domain at the end


def test_isolate_domains_own_disjoint_weights(setup):
    doms, src = setup
    r = run_chain(src, doms, 'isolate', 'gumbel', max_steps=2, progress=False)
    masks = [view_state(n)[1] for n in r.networks[:-1]]               # domain j's view: the weights of domains 1..j
    for a, b in zip(masks, masks[1:]):
        for l in a: assert bool((a[l] <= b[l]).all()) and not torch.equal(a[l], b[l])      # nested, each adds its own
    final = r.networks[-1]
    for n in r.networks[:-1]:                                         # all serve from the same stored weights
        for l, m in view_state(n)[1].items():
            assert torch.equal(view_state(n)[0][f'{l}.weight'], final.get_submodule(l).weight)


def test_storage_is_the_saved_payload(setup, tmp_path):
    doms, src = setup
    r = run_chain(src, doms, 'isolate', 'topk', max_steps=2, progress=False)
    parts = save_chain(r.networks, tmp_path / 'c.chain')
    assert (tmp_path / 'c.chain').stat().st_size == sum(parts.values())           # the figure is the file, to the byte
    assert parts['payload'] * 8 == r.storage_bits and parts['network'] * 8 == 32 * r.n_params
    back = load_chain(tmp_path / 'c.chain')                                        # every domain rebuilt from the file alone
    assert [fingerprint(n) for n in back] == [fingerprint(n) for n in r.networks]
    assert [evaluate(n, d.test) for n, d in zip(back, doms)] == r.accuracy[-1]
    n_own = r.n_params - r.n_masked
    assert r.bitmask_bits == (len(doms) - 1) * (r.n_masked + 32 * n_own) == storage_bits(*r.networks)
    assert r.n_masked * math.log2(3) < r.storage_bits < r.n_masked * 1.6 + 2 * 32 * n_own     # an owner id of 3 symbols per weight
    assert 'owner id' in r.encoding and r.stage_steps[0] == {'mask': 2} and r.stage_steps[1] == {'train': 2, 'mask': 2}


def test_adapt_chain_saved_and_loaded(setup, tmp_path):
    doms, src = setup
    r = run_chain(src, doms, 'adapt', 'topk', max_steps=2, progress=False, source_steps=7)
    parts = save_chain(r, tmp_path / 'a.chain')
    assert parts['payload'] * 8 == r.storage_bits and 'a bit per masked weight per domain' in r.encoding
    assert [fingerprint(n) for n in load_chain(tmp_path / 'a.chain', src)] == [fingerprint(n) for n in r.networks]
    assert r.stage_steps == [{'source': 7}, {'mask': 2}, {'mask': 2}] and r.steps == [0, 2, 4]


@pytest.mark.parametrize('S', [2, 3, 4, 5, 6, 9, 17])
def test_owner_ids_round_trip(S):
    import numpy as np
    from dwm_tutorial.sequence import pack_ids, unpack_ids
    ids = np.random.default_rng(S).integers(0, S, 4097)
    data = pack_ids(ids, S)
    assert (unpack_ids(data, S, len(ids)) == ids).all()
    assert len(data) * 8 <= math.ceil(len(ids) / 8) * 8 * math.ceil(math.log2(S)) + 64


@pytest.mark.slow
@pytest.mark.parametrize('K', [4, 6])
def test_owner_ids_beat_packnet(K, tmp_path):
    "At the default step budget, the isolate chain stores at or below PackNet's owner-id figure (ceil(log2 K) bits per weight and a head per extra domain)."
    doms = fashion_sequence(['identity', 'rot90', 'invert', 'vflip', 'noise', 'blur'][:K], 'mini', train_size=512, test_size=100)
    src, _ = train_source(doms[0].train, epochs=1, max_steps=50, progress=False)
    r = run_chain(src, doms, 'isolate', 'topk', progress=False)
    head = src.head.weight.numel() + src.head.bias.numel()
    packnet = math.ceil(math.log2(K)) + (K - 1) * 32 * head / r.n_params
    assert r.bits_per_weight <= packnet, (r.bits_per_weight, packnet)
    assert save_chain(r.networks, tmp_path / 'c.chain')['payload'] * 8 == r.storage_bits


def test_baselines(setup):
    doms, src = setup
    seq, cop = (run_chain(src, doms, c, max_steps=3, progress=False) for c in ('sequential', 'copies'))
    assert not seq.unchanged and seq.storage_bits == 0               # one network, changed by every domain
    assert len({seq.fingerprints[2][j] for j in range(3)}) == 1
    assert cop.unchanged and cop.bwt == 0 and cop.bits_per_domain == 32.0
    assert cop.accuracy[0][0] == seq.accuracy[0][0] == evaluate(src, doms[0].test)


def test_batchnorm_statistics_are_per_domain():
    set_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 28, 28, generator=g); y = torch.arange(64) % 10
    doms = [Domain('a', ImageDataset(x, y), ImageDataset(x, y)), Domain('b', ImageDataset(1 - x, y), ImageDataset(1 - x, y))]
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(4),
                              torch.nn.Flatten(), torch.nn.Linear(8 * 49, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    fit(net, doms[0].train, max_steps=2, bs=32, progress=False)
    r = run_chain(net, doms, 'isolate', 'topk', max_steps=1, progress=False)
    assert r.unchanged and r.bwt == 0
    a, b = r.networks
    assert not torch.equal(a[1].running_mean, b[1].running_mean)     # each domain serves with its own statistics
    assert torch.equal(a[1].running_mean, net[1].running_mean)       # the source's: those of the source model


def test_bad_inputs_fail_before_any_work(setup, tmp_path, monkeypatch):
    doms, src = setup
    import dwm_tutorial.sequence as sq
    calls = []
    monkeypatch.setattr(sq, 'fit', lambda *a, **k: calls.append(1))
    monkeypatch.setattr(sq, 'learn_masks', lambda *a, **k: calls.append(1))
    five = ImageDataset(doms[1].test.images, doms[1].test.labels % 5, doms[1].test.classes)
    bad = [([], 'the domain list is empty'), (doms + doms[1:2], "repeated: 'rot90'"),
           (doms[:1] + [Domain('five', five, five)], "'five' has other classes"),
           (fashion_sequence(['identity', 'rot90', 'invert', 'vflip', 'noise', 'blur'], 'mini', test_size=50), 'capacity runs out')]
    for domains, msg in bad:
        with pytest.raises(ValueError, match=msg):
            run_chains(src, domains, ['copies', 'isolate'], share=0.25, progress=False)
    with pytest.raises(ValueError, match='unknown chain'): run_chains(src, doms, ['adapt', 'packnet'], progress=False)
    with pytest.raises(ValueError, match='needs a mask method'): run_chain(src, doms, 'isolate', 'random', progress=False)
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_records_round_trip(setup, tmp_path):
    doms, src = setup
    rs = run_chains(src, doms[:2], ['adapt', 'copies'], max_steps=1, progress=False)
    for suffix in ('.csv', '.json'):
        assert [vars(r) for r in load_chains(save_chains(rs, tmp_path / f'c{suffix}'))] == [
            {k: v for k, v in vars(r).items() if k != 'networks'} for r in rs]


def _cli(*args):
    import subprocess, sys
    from pathlib import Path
    exe = Path(sys.executable).parent / 'dwm-reproduce'
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=900)


def test_cli_sequence(tmp_path):
    out = tmp_path / 'res'
    r = _cli('--sequence', 'rot90', '--max-steps', '2', '--target-size', '256', '--no-progress', '--out', str(out))
    assert r.returncode == 0, r.stderr
    got = load_chains(out / 'sequence.csv')
    assert [c.chain for c in got] == ['isolate', 'adapt', 'sequential', 'copies'] and got[0].domains == ['identity', 'rot90']
    assert got[0].unchanged and got[1].unchanged and got[0].bwt == got[1].bwt == 0
    assert load_chains(out / 'sequence.json') == got
    for png in ('sequence.png', 'sequence_lines.png'): assert (out / png).read_bytes()[:4] == b'\x89PNG'
    assert 'isolate' in r.stdout and 'bits_per_domain' in r.stdout and str(tmp_path) not in r.stdout


def test_cli_sequence_bad_arguments(tmp_path):
    from dwm_tutorial.cli import parse_args
    for args, msg in [(['--sequence', 'twist'], 'unknown shift'), (['--sequence', 'identity'], "repeated: 'identity'"),
                      (['--sequence', 'rot90', 'rot90'], "repeated: 'rot90'")]:
        with pytest.raises(SystemExit):
            parse_args([*args, '--out', str(tmp_path / 'res')])
    r = _cli('--sequence', 'rot90', 'rot90', '--out', str(tmp_path / 'res'))
    assert r.returncode == 2 and "repeated: 'rot90'" in r.stderr, r.stderr
    assert not (tmp_path / 'res').exists()                           # nothing written
