"""SageMaker: the registry importer and the SageMaker-compatible API (AWS JSON 1.1, SigV4)."""
