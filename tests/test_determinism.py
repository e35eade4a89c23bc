"Issue 25: the same call gives the same numbers, whatever the global random generator went through before it."
from dataclasses import asdict
import pytest, torch

from dwm_tutorial.data import fashion_mnist, random_subset, take
from dwm_tutorial.masks import LEARNED, add_masks, get_masks, learn_masks
from dwm_tutorial.models import SmallCNN
from dwm_tutorial.sequence import Domain, run_chains
from dwm_tutorial.train import fit, set_seed
from dwm_tutorial.transfer import plan_runs, run_grid, transfer
from dwm_tutorial.data import make_domains


@pytest.fixture(scope='module')
def setup():
    tr, te = random_subset(fashion_mnist('train', 'mini'), 512), take(fashion_mnist('test', 'mini'), 256)
    set_seed(0); src = SmallCNN(); fit(src, tr, max_steps=20, progress=False)
    return src, make_domains(tr, te, 'rot90')


def stir(state: int):
    "Leave the global generators in a state that depends on `state` (what any earlier code might have done)."
    torch.manual_seed(state); torch.rand(1000 + state)


def plain(records) -> list:
    return [{k: v for k, v in (asdict(r) if not isinstance(r, dict) else r).items() if 'second' not in k}
            for r in records]


@pytest.mark.parametrize('method', LEARNED)
def test_transfer_twice(setup, method):
    src, dom = setup
    out = []
    for state in (1, 2):
        stir(state)
        r, net = transfer(src, *dom[:4], 'adapt', method, 0.5, max_steps=4, min_steps=0, progress=False, return_model=True)
        out.append((plain([r]), get_masks(net)))
    assert out[0][0] == out[1][0]
    assert all(torch.equal(out[0][1][k], out[1][1][k]) for k in out[0][1])


def test_masks_are_not_drawn_at_registration(setup):
    "Registering a Gumbel mask draws nothing from the global generator, and learning starts its noise from its own seed."
    src, dom = setup
    nets = []
    for state in (3, 4):
        stir(state); net = SmallCNN(); net.load_state_dict(src.state_dict())
        before = torch.random.get_rng_state(); add_masks(net, 'gumbel', sparsity=0.5)
        assert torch.equal(before, torch.random.get_rng_state())
        stir(state + 10); learn_masks(net, dom.source_train, max_steps=3, min_steps=0, progress=False)
        nets.append(get_masks(net))
    assert all(torch.equal(nets[0][k], nets[1][k]) for k in nets[0])


def test_run_grid_twice(setup, tmp_path):
    src, dom = setup
    plan = plan_runs(['rot90'], list(LEARNED), [0.8], ('protect', 'isolate', 'adapt'))
    out = []
    for state in (5, 6):
        stir(state)
        out.append(plain(run_grid(src, dom.source_train, dom.source_test, {'rot90': (dom.target_train, dom.target_test)}, plan,
                                  max_steps=3, min_steps=0, progress=False)))
    assert len(out[0]) == 1 + 3 * 3 and out[0] == out[1]


def test_run_chains_twice(setup):
    src, dom = setup
    domains = [Domain('identity', dom.source_train, dom.source_test), Domain('rot90', dom.target_train, dom.target_test)]
    for method in LEARNED:
        out = []
        for state in (7, 8):
            stir(state)
            out.append(plain(run_chains(src, domains, chains=['isolate', 'adapt'], method=method, max_steps=3, min_steps=0,
                                        progress=False)))
        assert out[0] == out[1], method
