import contextlib, io, os, pytest, torch

os.environ.setdefault('IN_TEST', '1')   # quick settings, mini subset


@pytest.fixture(scope='session')
def mini():
    from dwm_tutorial.data import fashion_mnist
    return fashion_mnist('train', 'mini'), fashion_mnist('test', 'mini')


@pytest.fixture
def small_ds():
    "64 random images in [0, 1] with 10 labels."
    from dwm_tutorial.data import ImageDataset
    g = torch.Generator().manual_seed(0)
    return ImageDataset(torch.rand(64, 1, 28, 28, generator=g), torch.arange(64) % 10)


def cli(*argv, traceback_ok: bool = False):
    "Exit code, stdout and stderr of `dwm-reproduce argv`, run in-process as the console script runs it; no traceback unless `traceback_ok`."
    from dwm_tutorial.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main(list(argv)); code = 0
        except SystemExit as e: code = e.code
    assert traceback_ok or 'Traceback' not in err.getvalue(), err.getvalue()
    return code, out.getvalue(), err.getvalue()


def write_root(root, n_train: int = 1024, n_test: int = 256):
    "Fashion-MNIST's four files in `root`, holding `n_train` training and `n_test` test images drawn from the mini subset."
    from dwm_tutorial.data import fashion_mnist, random_subset, write_idx
    for split, n, (imgs, labels) in (('train', n_train, ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte')),
                                     ('test', n_test, ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'))):
        ds = random_subset(fashion_mnist(split, 'mini'), n, seed=1)
        write_idx(ds.images.squeeze(1), root / f'{imgs}.gz'); write_idx(ds.labels.to(torch.uint8), root / f'{labels}.gz')
    return root


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A --root with 1,024 training and 256 test images of the mini subset, for runs that check bookkeeping, not accuracy."
    return write_root(tmp_path_factory.mktemp('tiny'))


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long end-to-end checks (kill and resume); `make pytest` leaves them out, `make test-slow` runs them')
