"""The cost model charges the generated engines' cycles: docs/hls-library.md's formulas, written
out by hand here, equal ``engine_cycles`` and the menu entries for a handful of layers, including
the ResNet stem with window parallelism (docs/cost-model.md's numbers)."""

from __future__ import annotations

import numpy as np

from asymap.partition.costmodel import engine_cycles, layer_infos, port_beats


def _opt(info, pe, simd, kpar=1):
    o = info.options
    hit = np.nonzero((o.pe == pe) & (o.simd == simd) & (o.kpar == kpar))[0]
    assert len(hit) == 1, (pe, simd, kpar)
    return int(hit[0])


def test_stem_with_window_parallelism(chain, repo_root):
    g = chain([("conv", 64, 7, 2)], input_shape=(3, 224, 224))
    info = layer_infos(g)[0]
    doc = (repo_root / "docs" / "cost-model.md").read_text()
    # port_lanes(3) = 1, port_lanes(64) = 8. Rows 0..3 are loaded first; output rows 0..109 then
    # each load the 2 new input rows the next output row needs while computing; rows 110 and 111
    # need none (the bottom padding), so they take only their compute steps.
    fill, new, ow = 4 * 224 * 3, 2 * 224 * 3, 112
    for (pe, simd, kpar), text in {(64, 3, 1): "717,696", (64, 3, 49): "152,544", (64, 3, 7): "190,848"}.items():
        row = ow * ((64 // pe) * (49 // kpar) * (3 // simd) + 64 // 8)
        want = fill + 110 * max(new, row) + 2 * row
        assert info.options.cycles[_opt(info, pe, simd, kpar)] == want
        assert f"{want:,}" == text and text in doc
    assert info.options.cycles.min() == 152544
    assert port_beats(info.layer) == fill + 110 * new + 2 * ow * 8  # loads bound the fastest choice
    assert not info.streams


def test_engine_formulas_of_the_docs(chain):
    g = chain([("conv", 12, 3, 2), ("conv", 20, 1, 1), ("conv", 20, 3, 1), ("add", 2), ("gap",), ("fc", 10)],
              input_shape=(6, 9, 11))
    infos = layer_infos(g)
    lay = [i.layer for i in infos]
    # conv2d 3x3/2 pad 1: 6 -> 12 on 9x11 -> 5x6; P_in = 2, P_out = 4; pe 4, simd 3: NF 3, SF 2.
    # Rows 0, 1 first (33 beats each); output rows 0..4 then load 2, 2, 2, 1, 0 rows while computing
    assert engine_cycles(lay[0], 4, 3) == 2 * 33 + sum(max(n * 33, 6 * (3 * 9 * 2 + 12 // 4)) for n in (2, 2, 2, 1, 0))
    assert engine_cycles(lay[0], 4, 3, 3) == 2 * 33 + sum(max(n * 33, 6 * (3 * 3 * 2 + 3)) for n in (2, 2, 2, 1, 0))
    assert engine_cycles(lay[0], 12, 6, 9) == 2 * 33 + 3 * 66 + max(33, 6 * 4) + 6 * 4  # load-bound rows
    # conv_offchip: load, NF x pixels x fold (weights stream in during pixel 0), emit max(NF, OB)
    assert engine_cycles(lay[0], 4, 3, offchip=True) == 297 + 3 * 9 * 2 * 30 + 30 * max(3, 3)
    # conv1x1: 12 -> 20 on 5x6, P_in = 4, P_out = 4; pe 5 simd 6: NF 4, SF 2. Load, MACs and emit
    # of successive pixels overlap: the first pixel passes all three, each further one the slowest
    assert engine_cycles(lay[1], 5, 6) == (12 // 4 + 4 * 2 + 20 // 4) + 29 * (4 * 2)
    assert engine_cycles(lay[1], 20, 12) == (3 + 1 + 5) + 29 * 5  # emit-bound: 5 beats per pixel
    assert port_beats(lay[1]) == (3 + 5) + 29 * 5
    # add: one beat per cycle, whatever the factors; gap: H*W*C/P + C + C/P
    assert engine_cycles(lay[3], 1) == engine_cycles(lay[3], 20) == 30 * 20 // 4
    assert engine_cycles(lay[4], 1) == 30 * 5 + 20 + 5
    # fc on 20x1x1: P_in = 4, P_out = 2; pe 5 simd 4: NF 2, SF 5
    assert engine_cycles(lay[5], 5, 4) == 20 // 4 + 2 * 5 + 10 // 2
    assert engine_cycles(lay[5], 5, 4, offchip=True) == 5 + 2 * 5 + max(2, 5)
    for info in infos:  # every menu entry is the engine formula of its factors
        o = info.options
        for k in range(len(o.pe)):
            assert o.cycles[k] == engine_cycles(info.layer, o.pe[k], o.simd[k], o.kpar[k])
