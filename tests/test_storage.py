"Each protocol's storage figure is the size of what you would actually save, packed, to serve both domains."
import io

import pytest, torch

from dwm_tutorial.data import fashion_domains
from dwm_tutorial.train import train_source
from dwm_tutorial.transfer import isolated_source, kept_for, source_mask, storage_bits, transfer, view_state


@pytest.fixture(scope='module')
def setup():
    dom = fashion_domains('rot90', subset='mini')
    src, _ = train_source(dom.source_train, epochs=1, max_steps=10, progress=False)
    return dom, src


def packed_bits(source_view, target_view):
    "Serialize what must be kept beside the cheaper stored view; return its raw payload bits and the torch.save size."
    best = None
    for base in (source_view, target_view):
        payload = [kept_for(v, view_state(base)[0]) for v in (source_view, target_view)]
        raw = sum(8 * p['bits'].numel() for k in payload for p in k['masks'].values()) \
            + sum(8 * t.numel() * t.element_size() for k in payload for t in k['tensors'].values())
        buf = io.BytesIO(); torch.save(payload, buf)
        if best is None or raw < best[0]: best = (raw, 8 * len(buf.getvalue()))
    return best


@pytest.mark.parametrize('protocol,method', [('finetune', None), ('protect', 'magnitude'), ('isolate', 'topk'),
                                             ('isolate', 'ste'), ('adapt', 'gumbel'), ('adapt', 'topk')])
def test_storage_is_what_you_would_save(setup, protocol, method):
    dom, src = setup
    sp = None if method is None else 0.8
    sm = source_mask(src, dom.source_train, dom.source_test, method, sp, max_steps=3, progress=False) if protocol in ('protect', 'isolate') else None
    r, net = transfer(src, *dom[:4], protocol, method, sp, max_steps=3, src_mask=sm, progress=False, return_model=True)
    views = {'finetune': (src, net), 'protect': (net, net), 'adapt': (src, net),
             'isolate': (isolated_source(src, net, sm.masks) if sm else None, net)}[protocol]
    raw, saved = packed_bits(*views)
    n_masked_layers = 3
    assert r.storage_bits <= raw < r.storage_bits + 8 * 2 * n_masked_layers     # the figure, up to byte padding of the masks
    assert raw <= saved <= raw + 8 * 20_000                                        # torch.save adds only its framing
    n = sum(p.numel() for p in src.parameters())
    expected = {'finetune': 32 * n, 'protect': 0, 'isolate': 420_128 + 32 * 1_514, 'adapt': 420_128 + 32 * 1_514}[protocol]
    assert r.storage_bits == expected and r.bits_per_weight == round(expected / n, 4)


def test_storage_counts_changed_norm_statistics():
    "A model with BatchNorm: isolate must also keep the source's running statistics, which stage 2 changed."
    from dwm_tutorial.models import torchvision_classifier
    from dwm_tutorial.train import set_seed
    set_seed(0); a = torchvision_classifier('resnet18'); b = torchvision_classifier('resnet18')
    b.load_state_dict(a.state_dict())
    with torch.no_grad(): b.bn1.running_mean.add_(1.0)
    assert storage_bits(a, b) == 32 * b.bn1.running_mean.numel()
