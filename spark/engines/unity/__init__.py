"""Unity integration: C# checks and helpers."""
