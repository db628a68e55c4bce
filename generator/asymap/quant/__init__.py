"""Integer-only int8 quantization and the bit-exact numpy reference executor."""
