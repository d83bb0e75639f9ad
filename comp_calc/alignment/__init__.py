"""Does the plan pay for what the customer values? The `alignment` report."""

from comp_calc.alignment.metrics import SIGNALS, AlignmentReport, Rules, analyze, dec, json_frame, to_json, trim

__all__ = ["SIGNALS", "AlignmentReport", "Rules", "analyze", "dec", "json_frame", "to_json", "trim"]
