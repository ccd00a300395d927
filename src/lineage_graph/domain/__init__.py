"""The shared vocabulary: typed ids, frozen models, rules and errors. Pure Python, no third-party imports."""
