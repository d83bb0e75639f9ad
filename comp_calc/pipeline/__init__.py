"""The stages a command runs: load plans and data, check them, choose the period, compute, write."""

# inputs larger than this (all files together) are read for a streaming run by default: in
# memory a run takes about 5.3 times the CSV size (3.6 GiB for 689 MiB, see bench/README.md).
# Here, not in `stages`, so that `run --help` can state it without importing the stages.
STREAMING_BYTES = 1 << 30
