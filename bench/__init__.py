"""The vecbench harness: runs every case, verifies it, times it and records every round to parquet."""
