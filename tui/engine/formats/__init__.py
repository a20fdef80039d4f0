"""Export writers, one module per format."""
