"""The data layer: models, the executor and every SQL statement SPARK runs."""
