"""The work of the commands beyond run, validate and schema, one module each; their options and help
are declared in `comp_calc.cli`, which imports a module here only when its command runs."""
