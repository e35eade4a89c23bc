import shutil, gzip

import pytest, torch
from torch.utils.data import Dataset

from dwm_tutorial import data as D


def test_missing_everywhere_names_every_way(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(D, 'data_dirs', lambda: [])
    monkeypatch.setattr(D, 'DEBIAN_DIR', tmp_path / 'nothing-here')
    with pytest.raises(FileNotFoundError) as e:
        D.fashion_mnist('train', 'full', download=False)
    msg = str(e.value)
    for way in ('root=', 'data/', 'apt-get install dataset-fashion-mnist', 'download=True', "subset='mini'"):
        assert way in msg, way


def test_failed_download_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(D, 'data_dirs', lambda: [])
    monkeypatch.setattr(D, 'DEBIAN_DIR', tmp_path / 'nothing-here')
    def offline(root, train): raise OSError('network unreachable')
    monkeypatch.setattr(D, '_download', offline)
    with pytest.raises(FileNotFoundError, match="download failed .*network unreachable"):
        D.fashion_mnist('test', 'full', root=tmp_path)


def test_mini_subset_is_stratified_and_checked(mini):
    train, test = mini
    assert (len(train), len(test)) == (10_000, 2_000)
    assert train.labels.bincount().tolist() == [1000] * 10
    assert test.labels.bincount().tolist() == [200] * 10


def test_damaged_mini_subset_is_refused(tmp_path):
    src = next(d for d in D.data_dirs() if (d / D.MINI_NAME).is_dir()) / D.MINI_NAME
    dst = tmp_path / D.MINI_NAME
    shutil.copytree(src, dst)
    p = dst / 't10k-labels-idx1-ubyte.gz'
    raw = bytearray(gzip.open(p).read()); raw[-1] = (raw[-1] + 1) % 10
    with gzip.open(p, 'wb') as f: f.write(bytes(raw))
    with pytest.raises(ValueError, match='checksum'):
        D.fashion_mnist('test', 'mini', search=[tmp_path])


def test_folder_layouts(tmp_path, mini):
    "Plain idx files in torchvision's FashionMNIST/raw layout are found too."
    _, test = mini
    raw = tmp_path / 'FashionMNIST' / 'raw'; raw.mkdir(parents=True)
    D.write_idx(test.images.squeeze(1)[:50], raw / 't10k-images-idx3-ubyte')
    D.write_idx(test.labels[:50].to(torch.uint8), raw / 't10k-labels-idx1-ubyte')
    with pytest.raises(FileNotFoundError, match='lacks train-images-idx3-ubyte, train-labels-idx1-ubyte'):
        D.fashion_mnist('test', root=tmp_path, download=False)     # a root is used exactly: all four files or an error
    D.write_idx(test.images.squeeze(1)[50:80], raw / 'train-images-idx3-ubyte')
    D.write_idx(test.labels[50:80].to(torch.uint8), raw / 'train-labels-idx1-ubyte')
    ds = D.fashion_mnist('test', root=tmp_path, download=False)
    assert len(ds) == 50 and torch.equal(ds.labels, test.labels[:50])


@pytest.mark.parametrize('shift', ['identity', 'rot90', 'invert', 'vflip', 'noise', 'blur'])
def test_shifts_are_deterministic_and_keep_shape(shift, mini):
    _, test = mini
    a, b = D.shift_dataset(test, shift, seed=5), D.shift_dataset(test, shift, seed=5)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, test.labels)
    x = a[0][0]
    assert x.shape == (1, 28, 28) and 0 <= x.min() and x.max() <= 1


def test_unknown_shift():
    with pytest.raises(ValueError, match='unknown shift .*known shifts: identity, rot90, invert, vflip, noise, blur'):
        D.fashion_domains('rot45', subset='mini')


class PairList(Dataset):
    "A user's own dataset: a plain list of (image, label) pairs, 3 channels, 32×32."
    def __init__(self, n=20):
        g = torch.Generator().manual_seed(1)
        self.items = [(torch.rand(3, 32, 32, generator=g), i % 4) for i in range(n)]
    def __len__(self): return len(self.items)
    def __getitem__(self, i): return self.items[i]


def test_any_dataset_works_as_source_and_target():
    from dwm_tutorial.models import SmallCNN
    from dwm_tutorial.train import evaluate, fit
    ds = PairList()
    dom = D.make_domains(ds, ds, 'noise', seed=0)
    assert isinstance(dom.target_train, D.ShiftedDataset)
    assert torch.equal(dom.target_train[3][0], dom.target_train[3][0])            # per-index seed: repeatable
    assert not torch.equal(dom.target_train[3][0], dom.target_test[3][0])         # train/test noise differ
    model = SmallCNN(n_classes=4, in_channels=3)
    fit(model, dom.target_train, max_steps=3, bs=8, progress=False)
    assert 0 <= evaluate(model, dom.target_test) <= 1


def test_empty_dataset():
    with pytest.raises(ValueError, match='empty'):
        D.make_loader(D.ImageDataset(torch.zeros(0, 28, 28), torch.zeros(0)))
