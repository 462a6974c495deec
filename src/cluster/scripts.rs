//! The Lua scripts behind shared presence. Each runs atomically in Redis, so a join, a leave
//! and the reaping of a dead instance never interleave, and a 0↔1 change of a member is seen
//! by exactly one caller, which publishes it.
//!
//! Keys, under the prefix `p` (ARGV[1]):
//! - `p:m:{group}` SET: the members of a group (`online`, or `room:{id}`) held by any node;
//! - `p:h:{group}:{member}` SET: the nodes holding that member there;
//! - `p:n:{node}:h` SET of `group|member` and `p:n:{node}:s` SET of sessions: what a node
//!   holds, so whoever reaps it knows what to undo;
//! - `p:sc:{session}` HASH node → live sockets of a login session on that node;
//! - `p:nodes` ZSET node → last heartbeat (Redis's clock, ms), `p:n:{node}:stats` HASH.
//!
//! Keys are built inside the scripts, so this needs one Redis (or a Sentinel-managed one),
//! not Redis Cluster.

use std::sync::LazyLock;

use redis::Script;

/// Shared by the scripts that remove a node: undoes everything it held and returns the
/// changes as a flat list `group, member, members left, …`.
const DROP_NODE: &str = r#"
local function drop_node(p, n, out)
  for _, gm in ipairs(redis.call('SMEMBERS', p..':n:'..n..':h')) do
    local sep = string.find(gm, '|', 1, true)
    local g, m = string.sub(gm, 1, sep - 1), string.sub(gm, sep + 1)
    local holders = p..':h:'..g..':'..m
    redis.call('SREM', holders, n)
    if redis.call('SCARD', holders) == 0 and redis.call('SREM', p..':m:'..g, m) == 1 then
      table.insert(out, g); table.insert(out, m); table.insert(out, tostring(redis.call('SCARD', p..':m:'..g)))
    end
  end
  for _, s in ipairs(redis.call('SMEMBERS', p..':n:'..n..':s')) do
    redis.call('HDEL', p..':sc:'..s, n)
  end
  redis.call('DEL', p..':n:'..n..':h', p..':n:'..n..':s', p..':n:'..n..':stats')
  redis.call('ZREM', p..':nodes', n)
end
"#;

/// ARGV: prefix, group, member, node. Returns `{1 if the member is new to the group, members}`.
pub static HOLD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local p, g, m, n = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('SADD', p..':h:'..g..':'..m, n)
redis.call('SADD', p..':n:'..n..':h', g..'|'..m)
local first = redis.call('SADD', p..':m:'..g, m)
return {first, redis.call('SCARD', p..':m:'..g)}
"#,
    )
});

/// ARGV: prefix, group, member, node. Returns `{1 if the member left the group, members}`.
pub static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local p, g, m, n = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local holders = p..':h:'..g..':'..m
redis.call('SREM', holders, n)
redis.call('SREM', p..':n:'..n..':h', g..'|'..m)
local last = 0
if redis.call('SCARD', holders) == 0 then
  last = redis.call('SREM', p..':m:'..g, m)
end
return {last, redis.call('SCARD', p..':m:'..g)}
"#,
    )
});

/// ARGV: prefix, session, node, sockets. Records a session's sockets on a node (0 removes).
pub static SESSION_SOCKETS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local p, s, n, count = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if count > 0 then
  redis.call('HSET', p..':sc:'..s, n, count)
  redis.call('SADD', p..':n:'..n..':s', s)
else
  redis.call('HDEL', p..':sc:'..s, n)
  redis.call('SREM', p..':n:'..n..':s', s)
end
return 1
"#,
    )
});

/// ARGV: prefix, node, connections, subscriptions, idle expired, stats ttl ms. Records the
/// heartbeat at Redis's time; returns 1 when the node was not registered (first beat, or it
/// was reaped or Redis lost its data): it must then announce everything it holds again.
pub static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local p, n = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local new = redis.call('ZADD', p..':nodes', now, n)
redis.call('HSET', p..':n:'..n..':stats', 'connections', ARGV[3], 'subscriptions', ARGV[4], 'idle_expired', ARGV[5])
redis.call('PEXPIRE', p..':n:'..n..':stats', ARGV[6])
return new
"#,
    )
});

/// ARGV: prefix, silence ms. Removes every node whose last heartbeat is older than that, with
/// all it held. Returns `{nodes reaped, group, member, members left, …}`.
pub static REAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{DROP_NODE}
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', p..':nodes', '-inf', now - tonumber(ARGV[2]))
local out = {{tostring(#dead)}}
for _, n in ipairs(dead) do drop_node(p, n, out) end
return out
"#
    ))
});

/// ARGV: prefix, node. Removes one node with all it held (graceful shutdown). Returns
/// `{1, group, member, members left, …}`.
pub static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{DROP_NODE}
local out = {{'1'}}
drop_node(ARGV[1], ARGV[2], out)
return out
"#
    ))
});

/// ARGV: prefix, silence ms. Sums the stats of the live nodes: `{connections, subscriptions,
/// idle expired}`.
pub static STATS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local totals = {0, 0, 0}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', p..':nodes', now - tonumber(ARGV[2]), '+inf')) do
  local v = redis.call('HMGET', p..':n:'..n..':stats', 'connections', 'subscriptions', 'idle_expired')
  for i = 1, 3 do totals[i] = totals[i] + (tonumber(v[i]) or 0) end
end
return totals
"#,
    )
});

/// ARGV: prefix, key, period ms, burst. GCRA (the algorithm governor uses): allows `burst`
/// at once, refilling one every `period / burst`. Returns 0 when allowed, else the ms to wait.
pub static RATE_LIMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local key, period, burst = ARGV[1]..':rl:'..ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = period / burst
local tat = tonumber(redis.call('GET', key) or now)
if tat < now then tat = now end
local tolerance = interval * (burst - 1)
if tat - now > tolerance then
  return math.ceil(tat - now - tolerance)
end
local new_tat = tat + interval
redis.call('SET', key, tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return 0
"#,
    )
});
