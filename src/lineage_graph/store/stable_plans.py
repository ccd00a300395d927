"""Statements that keep the plan they were first given.

Neo4j replans a cached statement when the statistics it was planned with have moved enough (the node count of a
label, an index's selectivity: by default a change of 75% after 10 s, a threshold that shrinks over hours). On a
young database every statement is replanned again and again as the graph grows from nothing, and planning is not
cheap: 1-3 s of CPU for the registration statement on this project's 2-core reference machine, 0.05-0.4 s for the
small ones the audit sequencer and the webhook dispatcher run after every write. A statement whose plan the
statistics cannot change — it starts from unique-key seeks or a scan it names with a hint, and every other node
is reached by expanding from a bound one — gains nothing from a new plan, so it says `KEEP_PLAN` and is planned
once per process. `tests/integration/test_plan_stability.py` checks, for every such statement, that its plan has
no operator a statistic could have chosen.
"""

KEEP_PLAN = "CYPHER replan=skip\n"
