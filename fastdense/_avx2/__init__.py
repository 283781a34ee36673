"""fastdense's compiled modules built for a newer x86-64 level (see fastdense._simd)."""
