"""bench/scale: media nodes at scale — live room migration gaps (drain, node death), rooms per node, join latency."""
