"""MLflow: its model registry REST protocol served over our registry, and its tracking server read for runs."""
