"""The Redis limit store: every API process counts against the same windows and quotas."""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from spark.batching import TurnBatcher
from spark.errors import ServiceUnavailable
from spark.security.limits import Decision, Reason, decide

#: connections per API process; each hit holds one for a single round trip
MAX_CONNECTIONS = 32
#: a daily counter outlives its day, so a late request near midnight still finds it
DAY_TTL_S = 48 * 3600

# UTC date of a Unix time, as YYYY-MM-DD (Hinnant's days-to-civil; Lua here has no os.date).
UTC_DATE_LUA = """
local function utc_date(secs)
  local z = math.floor(secs / 86400) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02d', y, m, d)
end
"""

# Every hit gathered in one turn of the API's event loop, decided in order by one call.
# KEYS: per hit, its (user, family) window and the user's daily counter without its date.
# ARGV: window_ms, the counter's TTL, then per hit: per_minute, per_day, a unique member.
# The server's clock decides, so API processes with drifting clocks still agree.
HIT_LUA = (
    UTC_DATE_LUA
    + """
local t = redis.call('TIME')
local secs = tonumber(t[1])
local now = secs * 1000 + tonumber(t[2]) / 1000
local window_ms = tonumber(ARGV[1])
local today_date = utc_date(secs)
local out = {}
for i = 1, #KEYS / 2 do
  local window_key, day_key = KEYS[2 * i - 1], KEYS[2 * i] .. ':' .. today_date
  local per_minute, per_day = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local today = tonumber(redis.call('GET', day_key) or '0')
  redis.call('ZREMRANGEBYSCORE', window_key, '-inf', now - window_ms)
  local in_window = redis.call('ZCARD', window_key)
  local outcome = 0
  if today >= per_day then
    outcome = 2
  elseif in_window >= per_minute then
    outcome = 1
  else
    redis.call('ZADD', window_key, now, ARGV[3 * i + 2])
    redis.call('PEXPIRE', window_key, window_ms)
    today = redis.call('INCR', day_key)
    redis.call('EXPIRE', day_key, ARGV[2])
    in_window = in_window + 1
  end
  local leaves_ms = 0
  local oldest = redis.call('ZRANGE', window_key, 0, 0, 'WITHSCORES')
  if oldest[2] then
    leaves_ms = tonumber(oldest[2]) + window_ms - now
  end
  for _, v in ipairs({outcome, in_window, math.ceil(leaves_ms), today, 86400 - secs % 86400}) do
    out[#out + 1] = v
  end
end
return out
"""
)

TODAY_LUA = (
    UTC_DATE_LUA
    + """
local secs = tonumber(redis.call('TIME')[1])
return tonumber(redis.call('GET', KEYS[1] .. ':' .. utc_date(secs)) or '0')
"""
)

_OUTCOMES: dict[int, Reason] = {0: "ok", 1: "rate_limited", 2: "quota_exceeded"}


@dataclass(frozen=True)
class _Connection:
    """One client and its scripts, bound to the process and event loop that made them."""

    pid: int
    loop: asyncio.AbstractEventLoop
    client: Redis
    #: the hits of one loop turn, decided by one script call
    hits: TurnBatcher[_Hit, tuple[int, ...]]
    today: AsyncScript


@dataclass(frozen=True)
class _Hit:
    window_key: str
    day_key: str
    per_minute: int
    per_day: int


class RedisLimitStore:
    """Sliding-window logs in sorted sets and daily counters, decided by one Lua script."""

    def __init__(self, url: str, *, window_s: float = 60.0, prefix: str = "spark") -> None:
        self._url = url
        self._window_ms = max(1, round(window_s * 1000))
        self._prefix = prefix
        self._conn: _Connection | None = None

    async def hit(self, user: str, family: str, per_minute: int, per_day: int) -> Decision:
        conn = self._connection()
        hit = _Hit(self._window_key(user, family), self._day_key(user), per_minute, per_day)
        outcome, in_window, leaves_ms, today, to_midnight_s = await conn.hits.call(hit)
        return decide(
            family=family,
            per_minute=per_minute,
            per_day=per_day,
            outcome=_OUTCOMES[outcome],
            in_window=in_window,
            oldest_leaves_s=leaves_ms / 1000,
            requests_today=today,
            to_midnight_s=to_midnight_s,
        )

    async def _decide(self, script: AsyncScript, hits: list[_Hit]) -> list[tuple[int, ...]]:
        keys = [key for hit in hits for key in (hit.window_key, hit.day_key)]
        args: list[str | int] = [self._window_ms, DAY_TTL_S]
        for hit in hits:
            args += [hit.per_minute, hit.per_day, uuid.uuid4().hex]
        try:
            raw = [int(v) for v in await script(keys=keys, args=args)]
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        return [tuple(raw[i : i + 5]) for i in range(0, len(raw), 5)]

    async def requests_today(self, user: str) -> int:
        conn = self._connection()
        try:
            return int(await conn.today(keys=[self._day_key(user)]))
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        # A client can only be closed on the loop it was made on; another loop's is dropped.
        if conn is not None and _owns(conn):
            await conn.client.aclose()

    def _connection(self) -> _Connection:
        # Made inside the running loop: asyncio connections cannot cross loops or forks.
        if self._conn is None or not _owns(self._conn):
            pool = BlockingConnectionPool.from_url(
                self._url,
                # A burst waits briefly for a pooled connection instead of opening hundreds.
                max_connections=MAX_CONNECTIONS,
                timeout=1.0,
                socket_timeout=1.0,
                socket_connect_timeout=1.0,
                # One quick retry covers a pooled connection Redis dropped; a dead Redis
                # must fail the request fast rather than hold it for backoffs.
                retry=Retry(NoBackoff(), 1),
            )
            client = Redis.from_pool(pool)
            script = client.register_script(HIT_LUA)
            self._conn = _Connection(
                pid=os.getpid(),
                loop=asyncio.get_running_loop(),
                client=client,
                hits=TurnBatcher(functools.partial(self._decide, script), max_batch=128),
                today=client.register_script(TODAY_LUA),
            )
        return self._conn

    def _window_key(self, user: str, family: str) -> str:
        # The {user} hash tag keeps a user's keys in one slot should Redis become a cluster.
        return f"{self._prefix}:rate:{{{user}}}:{family}"

    def _day_key(self, user: str) -> str:
        return f"{self._prefix}:quota:{{{user}}}"


def _owns(conn: _Connection) -> bool:
    return conn.pid == os.getpid() and conn.loop is asyncio.get_running_loop()


def _unavailable() -> ServiceUnavailable:
    # Fail closed: without Redis nobody can tell whether a request is over its limit.
    return ServiceUnavailable("rate limiter unavailable", retry_after=5)
