"""Input CSV contracts, loading and row validation (SPEC section 1)."""
