"""The mapping as pictures: a self-contained HTML report (matplotlib PNGs embedded as base64)."""
