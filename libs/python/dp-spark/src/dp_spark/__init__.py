"""Spark helpers of the platform."""
