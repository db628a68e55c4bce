"""C-simulation of the generated chain (asymap verify)."""
