"""The data layer: models, engines and every SQL statement SPARK runs."""
