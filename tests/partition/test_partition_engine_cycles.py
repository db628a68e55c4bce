"""The cost model charges the generated engines' cycles, fill and drain included: the formulas of
docs/hls-library.md, written out by hand here, equal ``engine_cycles`` and the menu entries for a
handful of layers, including the ResNet stem with window parallelism (docs/cost-model.md's
numbers); and the docs' engine-cycle tables are exactly what ``asymap.partition.cycletable``
generates from the code."""

from __future__ import annotations

import numpy as np

from asymap.lanes import LAT_ADD, LAT_GAP, LAT_GEARBOX, LAT_MVAU, LAT_SWG
from asymap.partition import cycletable
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
    # The 3-channel input travels on a wide port: 8 pixels (24 bytes) per beat (port_bytes), the
    # 64-channel output at port_lanes(64) = 8 channels per beat. SIMD 3: the input gearbox
    # (24 -> 3 bytes: L = 24, M = 8) takes 8 steps per beat, one per pixel (224 per row). Rows 0..3
    # are loaded first; output rows 0..109 then each load the 2 new input rows the next output
    # row needs while computing; rows 110 and 111 need none (the bottom padding). The output
    # gearbox (64 -> 8 channels) takes 8 steps per pixel.
    fill, new, ow = 4 * 224, 2 * 224, 112
    tails = (8 + LAT_GEARBOX) + LAT_SWG + LAT_MVAU + (8 + LAT_GEARBOX)
    for (pe, simd, kpar), text in {(64, 3, 1): "615,588", (64, 3, 49): "101,284", (64, 3, 7): "101,284"}.items():
        row = ow * max((64 // pe) * (49 // kpar) * (3 // simd), 8)
        want = fill + 110 * max(new, row) + 2 * row + tails
        assert info.options.cycles[_opt(info, pe, simd, kpar)] == want
        assert f"{want:,}" == text and text in doc
    # the output port (8 channels per beat) now bounds the fastest choice, not the input
    assert port_beats(info.layer) == 4 * 28 + 112 * ow * 8
    assert port_beats(info.layer) <= info.options.cycles.min()
    assert not info.streams


def test_engine_formulas_of_the_docs(chain):
    g = chain([("conv", 12, 3, 2), ("conv", 20, 1, 1), ("conv", 20, 3, 1), ("add", 2), ("gap",), ("fc", 10)],
              input_shape=(6, 9, 11))
    infos = layer_infos(g)
    lay = [i.layer for i in infos]
    # conv2d 3x3/2 pad 1: 6 -> 12 on 9x11 -> 5x6; P_in = 2, P_out = 4; pe 4, simd 3: NF 3, SF 2.
    # Input gearbox 2 -> 3 channels: L = 6, M = 3, 3 steps per pixel (33 per row), tail 3 + 2.
    # Output gearbox 4 -> 4: 3 steps per pixel, tail 1 + 2. Slots load 2, 2, 2, 2, 1, 0 rows.
    g_in, g_out = 3 + LAT_GEARBOX, 1 + LAT_GEARBOX
    tails = g_in + LAT_SWG + LAT_MVAU + g_out
    assert engine_cycles(lay[0], 4, 3) == 2 * 33 + 5 * 6 * (3 * 9 * 2) + tails
    assert engine_cycles(lay[0], 4, 3, 3) == 2 * 33 + 5 * 6 * (3 * 3 * 2) + tails
    # pe 12 simd 6 kpar 9: one MVAU step per pixel, the output gearbox (12 -> 4: 3 steps per pixel,
    # tail 3 + 2) and the loads set the pace
    assert engine_cycles(lay[0], 12, 6, 9) == (2 * 33 + 3 * 66 + 33 + 6 * 3) + (3 + 2) + LAT_SWG + LAT_MVAU + (3 + 2)
    # conv_offchip: load, NF x pixels x fold (weights stream in during pixel 0), emit max(NF, OB)
    assert engine_cycles(lay[0], 4, 3, offchip=True) == 297 + 3 * 9 * 2 * 30 + 30 * max(3, 3) + 2 * LAT_GEARBOX + LAT_MVAU
    # conv1x1: 12 -> 20 on 5x6, P_in = 4, P_out = 4; pe 5 simd 6: NF 4, SF 2. Per pixel the input
    # gearbox (4 -> 6: L 12, 3 steps), the MVAU (8 steps), the output gearbox (5 -> 4: L 20, 5 steps)
    # overlap: 30 pixels x the slowest, plus the tails
    assert engine_cycles(lay[1], 5, 6) == 30 * 8 + (3 + 2) + LAT_MVAU + (5 + 2)
    assert engine_cycles(lay[1], 20, 12) == 30 * 5 + (3 + 2) + LAT_MVAU + (5 + 2)  # output-bound
    assert port_beats(lay[1]) == 30 * 5
    # add: one beat per cycle, whatever the factors; gap: (H*W + 1)*C/P (sum, then requantize)
    assert engine_cycles(lay[3], 1) == engine_cycles(lay[3], 20) == 30 * 20 // 4 + LAT_ADD
    assert engine_cycles(lay[4], 1) == 31 * 5 + LAT_GAP
    # fc on 20x1x1: P_in = 4, P_out = 2; pe 5 simd 4: NF 2, SF 5 -> 10 MVAU steps, the input
    # gearbox 5 (tail 1 + 2), the output gearbox 5 -> 2 (L 10: 5 steps, tail 5 + 2)
    assert engine_cycles(lay[5], 5, 4) == 10 + (1 + 2) + LAT_MVAU + (5 + 2)
    assert engine_cycles(lay[5], 5, 4, offchip=True) == 5 + 2 * 5 + max(2, 5) + 2 * LAT_GEARBOX + LAT_MVAU
    for info in infos:  # every menu entry is the engine formula of its factors
        o = info.options
        for k in range(len(o.pe)):
            assert o.cycles[k] == engine_cycles(info.layer, o.pe[k], o.simd[k], o.kpar[k])
            assert port_beats(info.layer) <= o.cycles[k]


def test_docs_cycle_tables_are_generated_from_the_code(repo_root):
    block = cycletable.table_markdown()
    for rel in cycletable.DOCS:
        text = (repo_root / rel).read_text()
        assert cycletable.BEGIN in text and cycletable.END in text, rel
        assert cycletable.current_block(text) == block, f"{rel}: run python -m asymap.partition.cycletable --write"
    assert cycletable.main(["--root", str(repo_root)]) == 0
