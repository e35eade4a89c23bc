import math

import pytest, torch

from dwm_tutorial.data import ImageDataset
from dwm_tutorial.models import SmallCNN, torchvision_classifier
from dwm_tutorial.train import evaluate, fit, load_checkpoint, save_checkpoint, set_seed


def test_same_seed_same_accuracy(mini):
    train, test = mini
    accs = []
    for _ in range(2):
        set_seed(7); m = SmallCNN()
        fit(m, train, max_steps=15, seed=7, progress=False, device='cpu')
        accs.append(evaluate(m, test))
    assert accs[0] == accs[1]
    set_seed(8); m = SmallCNN(); fit(m, train, max_steps=15, seed=8, progress=False, device='cpu')
    assert evaluate(m, test) != accs[0]      # and another seed gives another run


def test_training_learns(mini):
    train, test = mini
    set_seed(0); m = SmallCNN()
    h = fit(m, train, max_steps=60, progress=False)
    assert evaluate(m, test) > 0.6 and sum(h.losses[-10:]) < sum(h.losses[:10])


@pytest.mark.parametrize('kw,msg', [(dict(epochs=0), 'epochs must be'), (dict(epochs=1.5), 'epochs must be'),
                                    (dict(lr=0), 'lr must be a positive'), (dict(lr=-1.0), 'lr must be a positive'),
                                    (dict(lr=math.nan), 'lr must be a positive')])
def test_bad_arguments_fail_before_work(small_ds, kw, msg):
    m = SmallCNN(); before = [p.detach().clone() for p in m.parameters()]
    with pytest.raises(ValueError, match=msg): fit(m, small_ds, progress=False, **kw)
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, m.parameters()))


def test_shape_mismatch_is_clear(small_ds):
    with pytest.raises(ValueError, match=r'images of shape \(1, 28, 28\) do not fit SmallCNN.*in_channels=1'):
        fit(SmallCNN(in_channels=3), small_ds, progress=False)


def test_empty_dataset_is_clear():
    with pytest.raises(ValueError, match='empty'):
        fit(SmallCNN(), ImageDataset(torch.zeros(0, 28, 28), torch.zeros(0)), progress=False)


def test_nan_loss_stops_with_hint(small_ds):
    x = small_ds.images.clone(); x[50] = float('nan')                   # a bad image is refused at the door, naming it...
    with pytest.raises(ValueError, match='item 50: an image with NaN or infinite values'):
        ImageDataset(x, small_ds.labels)
    calls = []
    def blows_up_later(model):                                          # ...and a loss that turns NaN mid-run stops the run
        calls.append(1); return torch.tensor(float('nan') if len(calls) > 3 else 0.0)
    with pytest.raises(FloatingPointError, match='became nan at step 3 .*Lower the learning rate'):
        fit(SmallCNN(), small_ds, bs=8, extra_loss=blows_up_later, progress=False)
    with pytest.raises(FloatingPointError, match='became nan at step [0-9]+ .*Lower the learning rate'):
        fit(SmallCNN(), small_ds, bs=8, lr=1e9, progress=False)       # a step size that diverges


def test_checkpoint_round_trip_and_atomic(tmp_path, small_ds):
    set_seed(0); m = SmallCNN(); fit(m, small_ds, max_steps=2, progress=False)
    p = save_checkpoint(m, tmp_path / 'a.pt', note='x')
    m2, meta = load_checkpoint(p)
    assert meta == {'note': 'x'}
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), m2.state_dict().values()))
    assert sorted(x.name for x in tmp_path.iterdir()) == ['a.pt']


def test_checkpoint_of_another_architecture(tmp_path):
    p = save_checkpoint(SmallCNN(), tmp_path / 'a.pt')
    with pytest.raises(ValueError, match='saved from'):
        load_checkpoint(p, torchvision_classifier('resnet18'))
    m = SmallCNN(); del m.config                       # a model without a config: caught by the key check
    m.fc = torch.nn.Linear(3136, 64); m.head = torch.nn.Linear(64, 10)
    with pytest.raises(ValueError, match='shape mismatch'):
        load_checkpoint(p, m)


@pytest.mark.parametrize('content', [b'', b'hello', None])
def test_truncated_or_foreign_file(tmp_path, content):
    good = save_checkpoint(SmallCNN(), tmp_path / 'good.pt')
    bad = tmp_path / 'bad.pt'
    bad.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2] if content is None else content)
    with pytest.raises(ValueError, match='not a readable checkpoint'):
        load_checkpoint(bad, SmallCNN())


def test_checkpoint_loads_weights_only(tmp_path):
    "A pickle with code in it is refused by weights_only loading."
    class Evil:
        def __reduce__(self): return (print, ('pwned',))
    p = tmp_path / 'evil.pt'
    torch.save({'format': 'dwm-tutorial-checkpoint/1', 'x': Evil()}, p)
    with pytest.raises(ValueError, match='not a readable checkpoint'):
        load_checkpoint(p)
