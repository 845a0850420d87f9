"""Layer 1: recurrent cells. The LSTM (`lstm`) with its fused fast path (`fast_lstm`) beside it."""
