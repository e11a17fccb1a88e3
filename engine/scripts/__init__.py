"""The sandbox that runs the scripts and expressions of a model."""
