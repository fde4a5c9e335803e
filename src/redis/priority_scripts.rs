//! The Lua scripts of the priority queue, on sorted sets.
//!
//! Keys, in this order: 1 the waiting items (score: priority; member: a 16-digit sequence
//! number, `|`, the JSON, so equal priorities come out first in, first out), 2 the
//! unfinished counter, 3 the shut-down flag, 4 the dead-letter stream, 5 the items delivered
//! and not acked (score: when their visibility timeout ends, in ms), 6 a hash of counts,
//! 7 the sequence counter, 8 a hash of each delivered item's deliveries (`n:member`) and
//! priority (`p:member`).

use super::pool::Script;

/// ARGV: maxsize, priority, payload. Returns `OK`, `FULL` or `SHUTDOWN`.
pub(crate) static PUT: Script = Script(
    r"
if redis.call('EXISTS', KEYS[3]) == 1 then return 'SHUTDOWN' end
local maxsize = tonumber(ARGV[1])
if maxsize > 0 and redis.call('ZCARD', KEYS[1]) >= maxsize then return 'FULL' end
local seq = redis.call('INCR', KEYS[7])
redis.call('ZADD', KEYS[1], ARGV[2], string.format('%016d', seq) .. '|' .. ARGV[3])
redis.call('INCR', KEYS[2])
return 'OK'
",
);

/// Puts back (or dead-letters) the delivered items whose visibility timeout ended, then pops
/// the smallest. ARGV: visibility timeout ms, max deliveries. Returns
/// `{member, priority, deliveries}` or nil.
pub(crate) static GET: Script = Script(
    r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 100)
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
    redis.call('DECR', KEYS[2])
    redis.call('HINCRBY', KEYS[6], 'dead', 1)
  else
    redis.call('ZADD', KEYS[1], p, m)
  end
end
local popped = redis.call('ZPOPMIN', KEYS[1], 1)
if #popped == 0 then return false end
local m = popped[1]
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[1]), m)
redis.call('HSET', KEYS[8], 'p:' .. m, popped[2])
local n = redis.call('HINCRBY', KEYS[8], 'n:' .. m, 1)
return {m, popped[2], n}
",
);

/// Acks delivered items. ARGV: members. Returns how many were still delivered.
pub(crate) static ACK: Script = Script(
    r"
local done = 0
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[5], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[8], 'n:' .. ARGV[i], 'p:' .. ARGV[i])
    done = done + 1
  end
end
if done > 0 then
  redis.call('DECRBY', KEYS[2], done)
  redis.call('HINCRBY', KEYS[6], 'acked', done)
end
return done
",
);

/// Sends a delivered item that did not deserialize to the dead letters. ARGV: member, error,
/// deliveries.
pub(crate) static DEAD: Script = Script(
    r"
if redis.call('ZREM', KEYS[5], ARGV[1]) == 1 then
  local m = ARGV[1]
  local sep = string.find(m, '|', 1, true)
  redis.call('XADD', KEYS[4], '*', 'id', string.sub(m, 1, sep - 1), 'data',
    string.sub(m, sep + 1), 'error', ARGV[2], 'deliveries', ARGV[3])
  redis.call('HDEL', KEYS[8], 'n:' .. m, 'p:' .. m)
  redis.call('DECR', KEYS[2])
  redis.call('HINCRBY', KEYS[6], 'dead', 1)
end
return 1
",
);

/// Sets the shut-down flag; with `immediate` (ARGV[1] = `1`) drops the waiting items,
/// counted done.
pub(crate) static SHUTDOWN: Script = Script(
    r"
redis.call('SET', KEYS[3], '1')
if ARGV[1] ~= '1' then return 0 end
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1])
if n > 0 then redis.call('DECRBY', KEYS[2], n) end
return n
",
);
