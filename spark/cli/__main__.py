"""`python -m spark.cli`."""

from spark.cli import main

main()
