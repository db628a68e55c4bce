"""The HLS-top stand-in (hls_standin.v) as the tests write it into a board's RTL export: renamed to
the board's top, with or without its m_axi_gmem1 master (an HLS top has it only when a layer
preloads its weights into URAM) and, with it, the start-up image it must read: its word count and
checksum become the stand-in's constants, so a harness serving another image fails."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
MAGIC = 0x0123456789ABCDEF  # the first wmem word the stand-in expects
MASK = (1 << 64) - 1


def wpre_sum(image: bytes) -> int:
    """The stand-in's checksum of a start-up image: rotate left by one, xor the next 64-bit word."""
    acc = 0
    for i in range(0, len(image), 8):
        acc = (((acc << 1) | (acc >> 63)) & MASK) ^ int.from_bytes(image[i:i + 8], "little")
    return acc


def standin(module: str, wpre: bytes | None = None) -> str:
    """hls_standin.v as module ``module``; ``wpre``: the start-up image its gmem1 master must read
    (None: a top without gmem1)."""
    drop = "// no wpre" if wpre is not None else "// wpre"
    lines = [ln for ln in (HERE / "hls_standin.v").read_text().splitlines() if not ln.rstrip().endswith(drop)]
    text = "\n".join(lines) + "\n"
    if wpre is not None:
        assert wpre and len(wpre) % 8 == 0
        text = text.replace("WPRE_WORDS = 32'd0;", f"WPRE_WORDS = 32'd{len(wpre) // 8};")
        text = text.replace("WPRE_SUM = 64'h0;", f"WPRE_SUM = 64'h{wpre_sum(wpre):016x};")
    return text.replace("top_standin", module)


def write_export(rtl: Path, module: str, wpre: bytes | None = None) -> None:
    """The stand-in and its control-register map as `asymap build --step csynth` would export them."""
    rtl.mkdir(parents=True, exist_ok=True)
    (rtl / f"{module}.v").write_text(standin(module, wpre))
    (rtl / f"{module}_control_s_axi.v").write_text((HERE / "hls_standin_control_s_axi.v").read_text())
