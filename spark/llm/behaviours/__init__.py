"""The behaviours SPARK's offline generator writes, by family, and the matcher that picks them."""
