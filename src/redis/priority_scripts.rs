//! The Lua scripts of the priority queue, on sorted sets.
//!
//! Keys, in this order: 1 the waiting items (score: priority; member: a 16-digit sequence
//! number, `|`, the JSON, so equal priorities come out first in, first out), 2 the
//! unfinished counter, 3 the shut-down flag, 4 the dead-letter stream, 5 the items delivered
//! and not acked (score: when their visibility timeout ends, in ms), 6 a hash of counts,
//! 7 the sequence counter, 8 a hash of each delivered or delayed item's deliveries
//! (`n:member`) and priority (`p:member`), 9 the delayed items (score: when they are due, in
//! ms), 10 a list of wake-up tokens for waiting `get`s (one pushed per item that becomes
//! ready; emptied when a `get` finds nothing), 11 the idle list `join` waits on (one element
//! exactly while nothing is unfinished).

use super::pool::Script;

/// `now()` in ms from Redis's clock; `done(n)` counts items done and marks the queue idle.
macro_rules! common {
    () => {
        r"
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function done(n)
  if n <= 0 then return end
  if redis.call('DECRBY', KEYS[2], n) <= 0 then
    redis.call('DEL', KEYS[11])
    redis.call('RPUSH', KEYS[11], '1')
  end
end
local function wake(n)
  if n <= 0 then return end
  for _ = 1, math.min(n, 64) do redis.call('RPUSH', KEYS[10], '1') end
  redis.call('LTRIM', KEYS[10], 0, 1023)
end
"
    };
}

/// ARGV: maxsize, priority, payload, delay in ms (0: now). Returns `OK`, `FULL` or
/// `SHUTDOWN`. A delayed item does not count against `maxsize` until it is due.
pub(crate) static PUT: Script = Script(concat!(
    common!(),
    r"
if redis.call('EXISTS', KEYS[3]) == 1 then return 'SHUTDOWN' end
local delay = tonumber(ARGV[4])
local maxsize = tonumber(ARGV[1])
if delay <= 0 and maxsize > 0 and redis.call('ZCARD', KEYS[1]) >= maxsize then return 'FULL' end
local seq = redis.call('INCR', KEYS[7])
local m = string.format('%016d', seq) .. '|' .. ARGV[3]
if delay > 0 then
  redis.call('ZADD', KEYS[9], now() + delay, m)
  redis.call('HSET', KEYS[8], 'p:' .. m, ARGV[2])
else
  redis.call('ZADD', KEYS[1], ARGV[2], m)
  wake(1)
end
redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[11])
return 'OK'
"
));

/// Moves the delayed items now due into the queue, puts back (or dead-letters) the delivered
/// items whose visibility timeout ended, then pops the smallest. ARGV: visibility timeout
/// ms, max deliveries. Returns `{member, priority, deliveries}`; when nothing waits, -2 if
/// the queue is shut down, else how many ms until a delayed item is due or a visibility
/// timeout ends (-1: none).
pub(crate) static GET: Script = Script(concat!(
    common!(),
    r"
local t = now()
local ready = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[9], '-inf', t, 'LIMIT', 0, 100)) do
  redis.call('ZREM', KEYS[9], m)
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[8], 'p:' .. m) or '0', m)
  redis.call('HDEL', KEYS[8], 'p:' .. m)
  ready = ready + 1
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', t, 'LIMIT', 0, 100)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[5], m)
  local n = tonumber(redis.call('HGET', KEYS[8], 'n:' .. m)) or 0
  local p = redis.call('HGET', KEYS[8], 'p:' .. m) or '0'
  if n >= tonumber(ARGV[2]) then
    local sep = string.find(m, '|', 1, true)
    redis.call('XADD', KEYS[4], '*', 'id', string.sub(m, 1, sep - 1), 'data',
      string.sub(m, sep + 1), 'error', 'delivered ' .. n .. ' times and never task_done',
      'deliveries', n)
    redis.call('HDEL', KEYS[8], 'n:' .. m, 'p:' .. m)
    done(1)
    redis.call('HINCRBY', KEYS[6], 'dead', 1)
  else
    redis.call('ZADD', KEYS[1], p, m)
    ready = ready + 1
  end
end
local popped = redis.call('ZPOPMIN', KEYS[1], 1)
if #popped == 0 then
  redis.call('DEL', KEYS[10])
  if redis.call('EXISTS', KEYS[3]) == 1 then return -2 end
  local soonest = -1
  for _, k in ipairs({KEYS[9], KEYS[5]}) do
    local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    if first[2] then
      local wait = math.max(0, tonumber(first[2]) - t)
      if soonest < 0 or wait < soonest then soonest = wait end
    end
  end
  return soonest
end
-- Items that became ready beside the one taken: wake other waiting gets for them.
wake(ready - 1)
local m = popped[1]
redis.call('ZADD', KEYS[5], t + tonumber(ARGV[1]), m)
redis.call('HSET', KEYS[8], 'p:' .. m, popped[2])
local n = redis.call('HINCRBY', KEYS[8], 'n:' .. m, 1)
return {m, popped[2], n}
"
));

/// Acks delivered items. ARGV: members. Returns how many were still delivered.
pub(crate) static ACK: Script = Script(concat!(
    common!(),
    r"
local acked = 0
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[5], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[8], 'n:' .. ARGV[i], 'p:' .. ARGV[i])
    acked = acked + 1
  end
end
if acked > 0 then
  done(acked)
  redis.call('HINCRBY', KEYS[6], 'acked', acked)
end
return acked
"
));

/// Sends a delivered item that did not deserialize to the dead letters. ARGV: member, error,
/// deliveries.
pub(crate) static DEAD: Script = Script(concat!(
    common!(),
    r"
if redis.call('ZREM', KEYS[5], ARGV[1]) == 1 then
  local m = ARGV[1]
  local sep = string.find(m, '|', 1, true)
  redis.call('XADD', KEYS[4], '*', 'id', string.sub(m, 1, sep - 1), 'data',
    string.sub(m, sep + 1), 'error', ARGV[2], 'deliveries', ARGV[3])
  redis.call('HDEL', KEYS[8], 'n:' .. m, 'p:' .. m)
  done(1)
  redis.call('HINCRBY', KEYS[6], 'dead', 1)
end
return 1
"
));

/// Sets the shut-down flag; with `immediate` (ARGV[1] = `1`) drops the waiting and the
/// delayed items, counted done.
pub(crate) static SHUTDOWN: Script = Script(concat!(
    common!(),
    r"
redis.call('SET', KEYS[3], '1')
if ARGV[1] ~= '1' then return 0 end
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1])
for _, m in ipairs(redis.call('ZRANGE', KEYS[9], 0, -1)) do
  redis.call('HDEL', KEYS[8], 'p:' .. m)
  n = n + 1
end
redis.call('DEL', KEYS[9])
done(n)
return n
"
));
