"Issue 23: the data contract is checked at the door: each violation one ValueError naming the dataset, the item and the rule."
import pytest, torch
from torch import nn
from torch.utils.data import Dataset

from dwm_tutorial.data import ImageDataset, fashion_mnist, make_loader, take
from dwm_tutorial.models import SmallCNN
from dwm_tutorial import transfer as T
from dwm_tutorial.train import evaluate, fit
from dwm_tutorial.transfer import plan_runs, run_grid, transfer


@pytest.fixture(scope='module')
def data():
    return take(fashion_mnist('train', 'mini'), 256), take(fashion_mnist('test', 'mini'), 128)


class Items(Dataset):
    "A generic dataset over `base` whose item `i` is changed by `change(i, x, y)`."
    def __init__(self, base, change): self.base, self.change = base, change
    def __len__(self): return len(self.base)
    def __getitem__(self, i):
        x, y = self.base[i]
        return self.change(i, x, y)


def nan_at(k):
    def change(i, x, y):
        if i == k: x = x.clone(); x[0, 0, 0] = float('nan')
        return x, y
    return change


BAD = {   # what evaluate says (it reads in order), and the rule any reader names (fit shuffles, so the item varies)
    'nan':       (nan_at(70), 'item 70: an image with NaN or infinite values', 'NaN or infinite'),
    'int64':     (lambda i, x, y: ((x * 255).long(), y), 'item 0: images of dtype int64', 'images of dtype int64'),
    'dict':      (lambda i, x, y: {'image': x, 'label': y}, "item 0: a dict with keys 'image', 'label'", 'a dict with keys'),
    'label (1,)': (lambda i, x, y: (x, torch.tensor([y])), 'item 0: a label of shape (1,)', 'a label of shape (1,)'),
    'grows':     (lambda i, x, y: (x if i < 40 else torch.zeros(1, 30, 30), y), 'item 40: an image of shape (1, 30, 30) after',
                  'every image must have one shape'),
    'too bright': (lambda i, x, y: (x * 255, y), 'item 0: an image with values from 0 to 255', 'must be finite and in [0, 1]'),
}


@pytest.mark.parametrize('case', BAD)
def test_evaluate_refuses(data, case):
    _, te = data
    change, says, _ = BAD[case]
    with pytest.raises(ValueError) as e: evaluate(SmallCNN(), Items(te, change))
    assert says in str(e.value), str(e.value)


@pytest.mark.parametrize('case', BAD)
def test_fit_refuses(data, case):
    tr, _ = data
    change, _, rule = BAD[case]
    with pytest.raises(ValueError) as e: fit(SmallCNN(), Items(tr, change), max_steps=3, progress=False)
    assert rule in str(e.value) and 'the dataset Items, item ' in str(e.value), str(e.value)


@pytest.mark.parametrize('case', ['nan', 'dict', 'label (1,)', 'int64'])
def test_transfer_refuses_before_training(data, case, monkeypatch):
    tr, te = data
    change, _, rule = BAD[case]
    def boom(*a, **k): raise AssertionError('training started before the data were checked')
    monkeypatch.setattr(T, 'fit', boom); monkeypatch.setattr(T, 'learn_masks', boom)
    with pytest.raises(ValueError) as e:
        transfer(SmallCNN(), tr, te, tr, Items(te, change), 'isolate', 'magnitude', 0.5, progress=False)
    assert rule in str(e.value) and ('target_test, item 0' in str(e.value) or 'Items, item 70' in str(e.value)), str(e.value)


def test_grid_names_the_target_data(data, monkeypatch):
    tr, te = data
    with pytest.raises(ValueError) as e:
        run_grid(SmallCNN(), tr, te, {'scans': (tr, Items(te, BAD['dict'][0]))}, plan_runs(['scans'], protocols=()), progress=False)
    assert "the target test set of scans, item 0: a dict" in str(e.value)


def test_integer_images_are_scaled_or_refused():
    img = torch.randint(0, 256, (4, 1, 5, 5))
    ds = ImageDataset(img, torch.arange(4))               # int64 0..255: kept as uint8, so read in [0, 1] like uint8 images
    assert ds.images.dtype == torch.uint8 and ds[0][0].max() <= 1
    assert torch.equal(ds[2][0], img[2].float() / 255)
    with pytest.raises(ValueError, match='must hold 0..255'): ImageDataset(img + 300, torch.arange(4))


def test_a_model_that_returns_a_dict_is_refused(data):
    class Wrapped(nn.Module):
        def __init__(self): super().__init__(); self.net = SmallCNN()
        def forward(self, x): return {'logits': self.net(x)}
    with pytest.raises(ValueError, match="Wrapped's forward returned a dict"): evaluate(Wrapped(), data[1])


def test_a_good_generic_dataset_gives_the_same_accuracy(data):
    _, te = data
    net = SmallCNN()
    assert evaluate(net, Items(te, lambda i, x, y: (x, y))) == evaluate(net, te)
    xb, yb = next(iter(make_loader(Items(te, lambda i, x, y: ((x * 255).to(torch.uint8), torch.tensor(y))), bs=8)))
    assert xb.dtype == torch.float32 and xb.max() <= 1 and yb.dtype == torch.int64
