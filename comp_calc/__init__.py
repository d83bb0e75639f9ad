"""comp-calc: exact, explainable sales compensation runs."""

__version__ = "0.1.0"
