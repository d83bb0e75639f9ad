"""Commands beyond run and validate, one module each, registered in `comp_calc.cli`."""
