"""Validation: the measured-run kernel suite, the measurement runner, measured datasets and error metrics."""
