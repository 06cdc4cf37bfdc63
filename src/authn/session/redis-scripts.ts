/**
 * The Lua the Redis store runs, each one atomic on the server.
 */

/** Deletes the refresh lock only if we still hold it (its lease may have passed to another replica). */
export const RELEASE_LOCK = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * Compare-and-set of a session: KEYS[1] the session key; ARGV[1] the new JSON,
 * ARGV[2] its lifetime in ms, ARGV[3] the refresh generation the writer read.
 * Answers `gone` when the key no longer exists (signed out, expired: a write
 * must never bring it back), `superseded` when another request refreshed it
 * meanwhile, `OK` when written.
 */
export const UPDATE_IF_GENERATION = `
local current = redis.call("get", KEYS[1])
if not current then return "gone" end
local ok, stored = pcall(cjson.decode, current)
local gen = 0
if ok and type(stored) == "table" and type(stored.gen) == "number" then gen = stored.gen end
if gen ~= tonumber(ARGV[3]) then return "superseded" end
redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2])
return "OK"
`;
