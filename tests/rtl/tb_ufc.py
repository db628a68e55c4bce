"""cocotb bench of asymap_ufc_credit: its UFC TX is looped back to its UFC RX through a model of
the Aurora 64b/66b UFC handshake as PG074 describes it (s_axi_ufc_tx_tready two cycles after
ufc_tx_req, held with random gaps until the message beat is taken; the 4-byte message delivered
as one beat with tlast, in the interface's four most significant bytes)."""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly


@cocotb.test()
async def credit_words_cross_as_ufc_messages(dut):
    cfg = json.loads(os.environ["ASYMAP_TB"])
    rng = random.Random(cfg["seed"])
    spacing, cycles = cfg["spacing"], cfg["cycles"]
    cocotb.start_soon(Clock(dut.clk, 6400, unit="ps").start())
    dut.rst.value = 1
    dut.s_cc_tdata.value = 0
    dut.s_cc_tvalid.value = 1
    dut.s_axi_ufc_tx_tready.value = 0
    dut.m_axi_ufc_rx_tdata.value = 0
    dut.m_axi_ufc_rx_tlast.value = 0
    dut.m_axi_ufc_rx_tvalid.value = 0
    dut.m_cc_tready.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    word, pending, last_req, sent, delivered = 0, None, None, [], []
    wait = None  # falling edges until the model raises tready
    # Everything is decided at the falling edge: the DUT's outputs are stable there, and what is
    # driven there is what the next rising edge samples.
    for cyc in range(cycles):
        await FallingEdge(dut.clk)
        req, tv = int(dut.ufc_tx_req.value), int(dut.s_axi_ufc_tx_tvalid.value)
        if req:
            assert pending is None and wait is None, f"cycle {cyc}: request while a message is outstanding"
            assert int(dut.ufc_tx_ms.value) == 3
            assert last_req is None or cyc - last_req >= spacing, f"requests {cyc - last_req} cycles apart"
            last_req, wait = cyc, 2
            tr = 0
        elif wait is not None:
            wait -= 1
            tr = int(wait <= 0 and rng.random() < 0.7)
        else:
            tr = 0
        dut.s_axi_ufc_tx_tready.value = tr
        if tv and tr:
            data = int(dut.s_axi_ufc_tx_tdata.value)
            sent.append(data >> 32)
            pending = (data, cyc + rng.randint(3, 12))
            wait = None
        dut.m_axi_ufc_rx_tvalid.value = 0
        dut.m_axi_ufc_rx_tlast.value = 0
        if pending is not None and cyc >= pending[1]:
            dut.m_axi_ufc_rx_tdata.value = pending[0]
            dut.m_axi_ufc_rx_tvalid.value = 1
            dut.m_axi_ufc_rx_tlast.value = 1
            delivered.append(pending[0] >> 32)
            pending = None
        if cyc < cycles - 3000 and rng.random() < 0.3:
            word = (word + rng.randint(1, 3)) & 0xFFFFFFFF
            dut.s_cc_tdata.value = word
    await ClockCycles(dut.clk, 2)
    await ReadOnly()
    assert len(sent) > 10, sent
    assert delivered and int(dut.m_cc_tdata.value) == word == sent[-1], (hex(int(dut.m_cc_tdata.value)), hex(word))
    assert int(dut.m_cc_tvalid.value) == 1
