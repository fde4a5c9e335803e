//! The Lua scripts of the stream queue. Each runs atomically in Redis, so a put and its count,
//! an ack and its count, a claim and its dead-lettering cannot be split by a crash.
//!
//! Keys, in this order, for every script: 1 the stream, 2 the unfinished counter (puts minus
//! acks, what `join` waits on), 3 the shut-down flag, 4 the dead-letter stream, 5 the sorted
//! set of delayed items (score: due time in ms; member: `uid|payload`), 6 a hash of counts
//! (`acked`: items acked; `dead`: items sent to the dead letters).

use super::pool::Script;

/// ARGV: group, maxsize, payload, delay in ms, uid. Returns `OK`, `FULL` or `SHUTDOWN`.
pub(crate) static PUT: Script = Script(
    r"
if redis.call('EXISTS', KEYS[3]) == 1 then return 'SHUTDOWN' end
local maxsize = tonumber(ARGV[2])
if maxsize > 0 then
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
  if redis.call('XLEN', KEYS[1]) - pending >= maxsize then return 'FULL' end
end
local delay = tonumber(ARGV[4])
if delay > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[5], now + delay, ARGV[5] .. '|' .. ARGV[3])
else
  redis.call('XADD', KEYS[1], '*', 'd', ARGV[3])
end
redis.call('INCR', KEYS[2])
return 'OK'
",
);

/// Puts many items at once, all or none. ARGV: group, maxsize, payloads. Returns `OK`,
/// `FULL` (no room for all of them) or `SHUTDOWN`.
pub(crate) static PUT_ALL: Script = Script(
    r"
if redis.call('EXISTS', KEYS[3]) == 1 then return 'SHUTDOWN' end
local n = #ARGV - 2
local maxsize = tonumber(ARGV[2])
if maxsize > 0 then
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
  if redis.call('XLEN', KEYS[1]) - pending + n > maxsize then return 'FULL' end
end
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'd', ARGV[i])
end
redis.call('INCRBY', KEYS[2], n)
return 'OK'
",
);

/// Moves the delayed items that are due into the stream, then claims (`XAUTOCLAIM`) items
/// idle longer than the visibility timeout; an item over its deliveries goes to the dead
/// letters, counted done. ARGV: group, consumer, min idle ms, count, max deliveries.
/// Returns the claimed items as `{id, payload, deliveries}`.
pub(crate) static MAINTAIN: Script = Script(
    r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 100)
for _, m in ipairs(due) do
  local sep = string.find(m, '|', 1, true)
  redis.call('XADD', KEYS[1], '*', 'd', string.sub(m, sep + 1))
  redis.call('ZREM', KEYS[5], m)
end
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
local out = {}
for _, e in ipairs(claimed[2]) do
  local id = e[1]
  local payload = ''
  if e[2] then payload = e[2][2] end
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  local n = 1
  if info[1] then n = info[1][4] end
  if n > tonumber(ARGV[5]) then
    redis.call('XADD', KEYS[4], '*', 'id', id, 'data', payload, 'error',
      'delivered ' .. (n - 1) .. ' times and never task_done', 'deliveries', n - 1)
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('XDEL', KEYS[1], id)
    redis.call('DECR', KEYS[2])
    redis.call('HINCRBY', KEYS[6], 'dead', 1)
  else
    table.insert(out, {id, payload, n})
  end
end
return out
",
);

/// Acknowledges items: each one acked now (not already, by a worker that took it before a
/// redelivery) is deleted and counted done. ARGV: group, ids. Returns how many.
pub(crate) static ACK: Script = Script(
    r"
local done = 0
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
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

/// Moves one delivered item to the dead letters with its error, counted done.
/// ARGV: group, id, payload, error, deliveries.
pub(crate) static DEAD: Script = Script(
    r"
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[4], '*', 'id', ARGV[2], 'data', ARGV[3], 'error', ARGV[4],
    'deliveries', ARGV[5])
  redis.call('XDEL', KEYS[1], ARGV[2])
  redis.call('DECR', KEYS[2])
  redis.call('HINCRBY', KEYS[6], 'dead', 1)
end
return 1
",
);

/// The items waiting, not yet delivered to a worker. ARGV: group.
pub(crate) static QSIZE: Script = Script(
    r"
return redis.call('XLEN', KEYS[1]) - redis.call('XPENDING', KEYS[1], ARGV[1])[1]
",
);

/// Sets the shut-down flag; with `immediate`, drops the items not yet delivered (and the
/// delayed ones), counted done. ARGV: group, immediate (`1` or `0`).
pub(crate) static SHUTDOWN: Script = Script(
    r"
redis.call('SET', KEYS[3], '1')
if ARGV[2] ~= '1' then return 0 end
local dropped = 0
while true do
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], '__shutdown__', 'COUNT', 1000,
    'STREAMS', KEYS[1], '>')
  if not r or not r[1] or #r[1][2] == 0 then break end
  for _, e in ipairs(r[1][2]) do
    redis.call('XACK', KEYS[1], ARGV[1], e[1])
    redis.call('XDEL', KEYS[1], e[1])
    dropped = dropped + 1
  end
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], '__shutdown__')
dropped = dropped + redis.call('ZCARD', KEYS[5])
redis.call('DEL', KEYS[5])
if dropped > 0 then redis.call('DECRBY', KEYS[2], dropped) end
return dropped
",
);
