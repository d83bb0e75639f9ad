"""Plans: YAML loading with positions, validation, versions."""

from comp_calc.plan.model import (
    Band,
    ClawbackRule,
    Metric,
    Outbound,
    Plan,
    PlanSet,
    Quality,
    RateRule,
    Tier,
)

__all__ = [
    "Band",
    "ClawbackRule",
    "Metric",
    "Outbound",
    "Plan",
    "PlanSet",
    "Quality",
    "RateRule",
    "Tier",
]
