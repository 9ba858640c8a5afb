"""SPARK: a job service for AI-assisted indie game development on Unity."""

__version__ = "0.1.0"
