"""Config structs and calls of the per-channel blocks: ``affine`` (pre-activation BatchNorm,
``hls/include/asymap/affine.h``) and ``channels`` (channel split / slice / shuffle,
``hls/include/asymap/chansel.h``).

Kept apart from ``segment_blocks`` (the MAC, pool, add and concat blocks) because they share
nothing with those engines but the config-field helpers.
"""

from __future__ import annotations

from asymap.codegen.ports import port_lanes
from asymap.codegen.segment_blocks import (
    INT_PER_LINE, BlockCall, BlockCtx, _array, _b, _i, _ints, _u, narrow_adapt, narrow_beats,
)
from asymap.frontend.ir import channel_map_form
from asymap.quant.qgraph import QGraph, QLayer


def affine_block(qg: QGraph, ql: QLayer, ident: str, ctx: BlockCtx) -> BlockCall:
    """Per-channel affine: int8 weight, int32 bias, multiplier and shift per channel as ROM tables."""
    layer = ql.layer
    tin = qg.tensors[layer.inputs[0]]
    c = layer.out_shape[0]
    cfg = f"{ident}_cfg"
    fields = [_u("c", c), _u("beats", narrow_beats(layer.out_shape, ctx.lanes)), _u("lanes", port_lanes(c, ctx.lanes)),
              _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi), _i("out_zp", ql.out_zp)]
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: per-channel affine (pre-activation BatchNorm)", "fields": fields})
    ctx.arrays += [
        _array("int8_t", f"{ident}_w", _ints(ql.weight), INT_PER_LINE),
        _array("int32_t", f"{ident}_bias", _ints(ql.bias), INT_PER_LINE),
        _array("int32_t", f"{ident}_mult", _ints(ql.mult), INT_PER_LINE),
        _array("uint8_t", f"{ident}_shift", _ints(ql.shift), INT_PER_LINE),
    ]
    ns = ctx.ns
    return BlockCall(f"asymap::affine<{ns}::{cfg}>",
                     [f"{ns}::{ident}_w", f"{ns}::{ident}_bias", f"{ns}::{ident}_mult", f"{ns}::{ident}_shift"],
                     adapt=narrow_adapt(layer, ctx.lanes))


def channels_block(qg: QGraph, ql: QLayer, ident: str, ctx: BlockCtx) -> BlockCall:
    """Channel selection / permutation: the map as (start, groups, stride), wired at compile time."""
    layer = ql.layer
    tin = qg.tensors[layer.inputs[0]]
    ci, h, w = layer.in_shapes[0]
    co = layer.out_shape[0]
    form = channel_map_form(layer.channel_map or ())
    if form is None:
        raise ValueError(f"layer {layer.name!r}: channel map is neither a slice nor a shuffle")
    start, groups, stride = form
    cfg = f"{ident}_cfg"
    fields = [_u("ci", ci), _u("co", co), _u("pixels", h * w), _u("in_lanes", port_lanes(ci, ctx.lanes)),
              _u("out_lanes", port_lanes(co, ctx.lanes)), _u("start", start), _u("groups", groups), _i("stride", stride),
              _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi)]
    what = "slice" if groups == 1 else f"shuffle of {groups} groups"
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: channel {what} ({ci} -> {co} channels)", "fields": fields})
    return BlockCall(f"asymap::channel_select<{ctx.ns}::{cfg}>", adapt=narrow_adapt(layer, ctx.lanes))
