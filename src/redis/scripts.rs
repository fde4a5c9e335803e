//! The Lua scripts of the stream queue. Each runs atomically in Redis, so a put and its count,
//! an ack and its count, a claim and its dead-lettering cannot be split by a crash.
//!
//! Keys, in this order, for every script: 1 the stream, 2 the unfinished counter (puts minus
//! acks, what `join` waits on), 3 the shut-down flag, 4 the dead-letter stream, 5 the sorted
//! set of delayed items (score: due time in ms; member: `uid|payload`), 6 a hash of counts
//! (`acked`: items acked; `dead`: items sent to the dead letters), 7 a list that holds one
//! element exactly while the unfinished counter is 0 or less, which `join` waits on with a
//! blocking `BLMOVE` from it to itself (so every waiter sees the element; none takes it),
//! 8 the count of items ever added to the stream.
//!
//! # Entries of several items
//! The puts of one script call go into the stream as entries of up to `entry_items` (64 by
//! default) items each (one `d` field per item, in order; a lone put is an entry of one),
//! plus a field `c`: the count of items added to the stream up to and including this entry. A consumer acks an
//! entry once all its items are `task_done` (or dead-lettered), passing the entry's item
//! count: the ack that removes the entry from the pending list counts them all done, so an
//! entry delivered twice is still counted once.
//!
//! The unfinished counter is always the items waiting in the stream, plus those delivered
//! and not acked, plus the delayed ones. The items waiting, for `qsize` and `maxsize`, are
//! the items ever added minus the `c` of the group's last-delivered entry (the group reads
//! in id order): O(log n) however long the stream is.
//!
//! # Trimming
//! An acked entry is not deleted one by one (`XDEL` costs more than the rest of an ack):
//! the stream is trimmed instead, with `XTRIM MINID ~ m` after each batch of acks, where `m`
//! is the oldest pending entry's id, or with nothing pending, the group's last-delivered id.
//! Every entry below `m` was delivered (it is below the last-delivered id; ids only grow,
//! and the group reads in id order) and is not pending, so it was acked (or dead-lettered,
//! which acks): none can be needed again. Entries not yet delivered are at or above the
//! last-delivered id, and pending ones at or above `m`: trimming never touches them. `~`
//! lets Redis drop only whole nodes of the stream, cheaply; a few acked entries stay until
//! a later trim. A stream with several groups would need the minimum over the groups; this
//! queue has one, `workers`.

use super::pool::Script;

/// Adds the payloads `items[first..=last]` to the stream as one entry (see the module docs).
macro_rules! add {
    () => {
        r"
local function add(items, first, last)
  local c = redis.call('INCRBY', KEYS[8], last - first + 1)
  local args = {KEYS[1], '*', 'c', c}
  for i = first, last do
    args[#args + 1] = 'd'
    args[#args + 1] = items[i]
  end
  redis.call('XADD', unpack(args))
end
"
    };
}

/// The values of the `d` fields of a stream entry's flat field list, at least one (a
/// deleted entry, still pending, has no fields: it counts as one empty item).
macro_rules! payloads {
    () => {
        r"
local function payloads(fields)
  local out = {}
  if fields then
    for i = 1, #fields, 2 do
      if fields[i] == 'd' then out[#out + 1] = fields[i + 1] end
    end
  end
  if #out == 0 then out[1] = '' end
  return out
end
"
    };
}

/// The group's last-delivered id, as a Lua function of the group's name.
macro_rules! last_delivered {
    () => {
        r"
local function last_delivered(group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local name, last = nil, nil
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    if name == group then return last end
  end
  return '0-0'
end
"
    };
}

/// The trim described in the module docs, as a Lua function of the group's name.
macro_rules! trim {
    () => {
        r"
local function trim(group)
  local minid = nil
  local pending = redis.call('XPENDING', KEYS[1], group)
  if pending[1] > 0 then
    minid = pending[2]
  else
    minid = last_delivered(group)
  end
  if minid and minid ~= '0-0' then redis.call('XTRIM', KEYS[1], 'MINID', '~', minid) end
end
"
    };
}

/// Counts `n` items done, and marks the queue idle when nothing is left unfinished.
macro_rules! done {
    () => {
        r"
local function done(n)
  if n <= 0 then return end
  if redis.call('DECRBY', KEYS[2], n) <= 0 then
    redis.call('DEL', KEYS[7])
    redis.call('RPUSH', KEYS[7], '1')
  end
end
"
    };
}

/// The items waiting, not delivered yet, as a Lua function (see the module docs).
macro_rules! waiting {
    () => {
        r"
local function waiting(group)
  local added = tonumber(redis.call('GET', KEYS[8]) or '0')
  local last = last_delivered(group)
  if last == '0-0' then return added end
  local e = redis.call('XRANGE', KEYS[1], last, last)[1]
  if e then
    for i = 1, #e[2], 2 do
      if e[2][i] == 'c' then return added - tonumber(e[2][i + 1]) end
    end
  end
  -- The last-delivered entry is gone (deleted by hand): count in entries, as a guess.
  local unfinished = tonumber(redis.call('GET', KEYS[2]) or '0')
  local pending = redis.call('XPENDING', KEYS[1], group)[1]
  return unfinished - pending - redis.call('ZCARD', KEYS[5])
end
"
    };
}

/// Puts items, each on its own terms. ARGV: group, maxsize, items per entry, then for each
/// item: payload, delay in ms (0: now), uid (for a delayed item's member). Returns one
/// status per item: `OK`, `FULL` or `SHUTDOWN`. The items put now go together, in entries.
pub(crate) static PUT: Script = Script(concat!(
    last_delivered!(),
    waiting!(),
    add!(),
    r"
local ENTRY_ITEMS = tonumber(ARGV[3])
local out = {}
if redis.call('EXISTS', KEYS[3]) == 1 then
  for i = 4, #ARGV, 3 do table.insert(out, 'SHUTDOWN') end
  return out
end
local maxsize = tonumber(ARGV[2])
local room = -1
if maxsize > 0 then room = maxsize - waiting(ARGV[1]) end
local added = 0
local now = nil
local entry = {}
for i = 4, #ARGV, 3 do
  local delay = tonumber(ARGV[i + 1])
  if delay > 0 then
    if not now then
      local t = redis.call('TIME')
      now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
    redis.call('ZADD', KEYS[5], now + delay, ARGV[i + 2] .. '|' .. ARGV[i])
    added = added + 1
    table.insert(out, 'OK')
  elseif room == 0 then
    table.insert(out, 'FULL')
  else
    entry[#entry + 1] = ARGV[i]
    if #entry == ENTRY_ITEMS then
      add(entry, 1, #entry)
      entry = {}
    end
    if room > 0 then room = room - 1 end
    added = added + 1
    table.insert(out, 'OK')
  end
end
if #entry > 0 then add(entry, 1, #entry) end
if added > 0 then
  redis.call('INCRBY', KEYS[2], added)
  redis.call('DEL', KEYS[7])
end
return out
"
));

/// Puts many items at once, all or none, in entries. ARGV: group, maxsize, items per
/// entry, payloads. Returns `OK`, `FULL` (no room for all of them) or `SHUTDOWN`.
pub(crate) static PUT_ALL: Script = Script(concat!(
    last_delivered!(),
    waiting!(),
    add!(),
    r"
local ENTRY_ITEMS = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[3]) == 1 then return 'SHUTDOWN' end
local n = #ARGV - 3
local maxsize = tonumber(ARGV[2])
if maxsize > 0 and waiting(ARGV[1]) + n > maxsize then return 'FULL' end
for first = 4, #ARGV, ENTRY_ITEMS do
  add(ARGV, first, math.min(first + ENTRY_ITEMS - 1, #ARGV))
end
redis.call('INCRBY', KEYS[2], n)
redis.call('DEL', KEYS[7])
return 'OK'
"
));

/// Moves the delayed items that are due into the stream, then claims (`XAUTOCLAIM`) entries
/// idle longer than the visibility timeout; an entry over its deliveries goes to the dead
/// letters (a letter per item), counted done. ARGV: group, consumer, min idle ms, count, max
/// deliveries, the cursor to scan the pending entries from (`0-0` at first). Returns the
/// cursor for the next call (`0-0` once the scan went round), then the claimed entries as
/// `{id, deliveries, payload, …}`.
pub(crate) static MAINTAIN: Script = Script(concat!(
    last_delivered!(),
    trim!(),
    done!(),
    add!(),
    payloads!(),
    r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 100)
for _, m in ipairs(due) do
  local sep = string.find(m, '|', 1, true)
  add({string.sub(m, sep + 1)}, 1, 1)
  redis.call('ZREM', KEYS[5], m)
end
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[6], 'COUNT', ARGV[4])
local out = {claimed[1]}
local dead = 0
for _, e in ipairs(claimed[2]) do
  local id = e[1]
  local items = payloads(e[2])
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  local n = 1
  if info[1] then n = info[1][4] end
  if n > tonumber(ARGV[5]) then
    for _, payload in ipairs(items) do
      redis.call('XADD', KEYS[4], '*', 'id', id, 'data', payload, 'error',
        'delivered ' .. (n - 1) .. ' times and never task_done', 'deliveries', n - 1)
    end
    redis.call('XACK', KEYS[1], ARGV[1], id)
    dead = dead + #items
  else
    local entry = {id, n}
    for _, payload in ipairs(items) do entry[#entry + 1] = payload end
    table.insert(out, entry)
  end
end
if dead > 0 then
  done(dead)
  redis.call('HINCRBY', KEYS[6], 'dead', dead)
end
trim(ARGV[1])
return out
"
));

/// Acknowledges entries: the items of those acked now (not already, by a worker that took
/// them before a redelivery) are counted done; then the stream is trimmed. ARGV: group,
/// then for each entry its id and its item count. Returns how many items.
pub(crate) static ACK: Script = Script(concat!(
    last_delivered!(),
    trim!(),
    done!(),
    r"
local acked = 0
local ids, ones = {}, true
for i = 2, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  if ARGV[i + 1] ~= '1' then ones = false end
end
if ones then
  -- Entries of one item each: one XACK per few thousand (what unpack takes at most).
  for first = 1, #ids, 4000 do
    local last = math.min(first + 3999, #ids)
    acked = acked + redis.call('XACK', KEYS[1], ARGV[1], unpack(ids, first, last))
  end
else
  for i = 2, #ARGV, 2 do
    if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
      acked = acked + tonumber(ARGV[i + 1])
    end
  end
end
if acked > 0 then
  done(acked)
  redis.call('HINCRBY', KEYS[6], 'acked', acked)
end
trim(ARGV[1])
return acked
"
));

/// Records one item that did not deserialize in the dead letters, with its error. The entry
/// holding it is acked (and the item counted done) with the entry's other items.
/// ARGV: id, payload, error, deliveries.
pub(crate) static DEAD: Script = Script(
    r"
redis.call('XADD', KEYS[4], '*', 'id', ARGV[1], 'data', ARGV[2], 'error', ARGV[3],
  'deliveries', ARGV[4])
redis.call('HINCRBY', KEYS[6], 'dead', 1)
return 1
",
);

/// The items waiting, not yet delivered to a worker. ARGV: group.
pub(crate) static QSIZE: Script = Script(concat!(
    last_delivered!(),
    waiting!(),
    r"
return math.max(0, waiting(ARGV[1]))
"
));

/// Sets the shut-down flag; with `immediate`, drops the items not yet delivered (and the
/// delayed ones), counted done. ARGV: group, immediate (`1` or `0`).
pub(crate) static SHUTDOWN: Script = Script(concat!(
    last_delivered!(),
    trim!(),
    done!(),
    payloads!(),
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
    dropped = dropped + #payloads(e[2])
  end
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], '__shutdown__')
dropped = dropped + redis.call('ZCARD', KEYS[5])
redis.call('DEL', KEYS[5])
done(dropped)
trim(ARGV[1])
return dropped
"
));
