"""When the automation sensor runs a stage by itself: after its upstream stages, never past a failed blocking check.

``eager()`` alone would run ``page_renders`` as soon as ``parsed_markdown`` is materialized, even by a run
whose blocking quarantine-rate check failed: exactly the bad output the check is there to stop. Every
stage that the automation sensor may start waits for its upstream blocking checks to pass.
"""

from dagster import AutomationCondition

AFTER_UPSTREAM = AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()
