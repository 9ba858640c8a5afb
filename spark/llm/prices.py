"""What LLM tokens cost: the operator's price table (SPARK_PRICES) applied to a call's tokens.

One function, so a call's record, a job's result, `GET /v1/usage` and the admin view all
price tokens the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from spark.config import ModelPrice

#: per million tokens
PER = 1_000_000


def cost_of(
    prices: Mapping[str, ModelPrice], model: str | None, tokens_in: int, tokens_out: int
) -> float:
    """The cost of tokens_in + tokens_out on model; 0 for a model the table does not price."""
    price = prices.get(model or "")
    if price is None:
        return 0.0
    return (tokens_in * price.per_million_in + tokens_out * price.per_million_out) / PER


def priced(prices: Mapping[str, ModelPrice], model: str | None) -> bool:
    """Whether the table prices model."""
    return (model or "") in prices
