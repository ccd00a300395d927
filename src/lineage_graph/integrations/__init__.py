"""Adapters from outside formats and services (AWS, OpenLineage) to the services layer."""
