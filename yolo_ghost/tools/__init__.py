"""What is done to a built model: the profiler (params, FLOPs, memory traffic), export with its parity check, and
latency measurement in each runtime."""
