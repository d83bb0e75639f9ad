"""The calculation steps of SPEC section 3, one small module each.

credit -> attainment -> rate -> quality -> cap -> clawback -> balance.
Each step is a function from lazy frames to a lazy frame; `comp_calc.engine`
composes them into one query per run.
"""
