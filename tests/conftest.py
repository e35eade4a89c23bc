import os, pytest, torch

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


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long end-to-end checks (kill and resume); `make pytest` leaves them out, `make test-slow` runs them')
