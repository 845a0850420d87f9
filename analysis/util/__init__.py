"""Private utilities shared by every layer: errors, atomic I/O, progress, timing, statistics."""
