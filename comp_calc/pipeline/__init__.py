"""The stages a command runs: load plans and data, check them, choose the period, compute, write."""
