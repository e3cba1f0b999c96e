---@meta http
-- LuaLS annotations for the `http` module (not embedded; for editors only).

---@class http.Response
---@field status integer
---@field headers table<string, string>  lower-case names
---@field body string
---@field elapsed number
---@field url string  redacted
---@field attempts? integer  how many were sent (with retries)
---@field dry_run? true  a write under --dry-run: printed, not sent (status 200, empty body)
local Response = {}

--- The body decoded; raises bad_response when it is not JSON.
---@return any
function Response:json() end

---@class http.Options
---@field method? "GET"|"HEAD"|"POST"|"PUT"|"PATCH"|"DELETE"|"OPTIONS"
---@field url string
---@field query? table<string, string|number|boolean|(string|number|boolean)[]>|string
---@field headers? table<string, string>
---@field body? string
---@field json? any  encoded as the body, with Content-Type: application/json
---@field timeout? number
---@field connect_timeout? number
---@field max_body? integer
---@field retries? integer  0..10, idempotent methods only: retried on network errors, timeouts, 408/429/5xx
---@field send_in_dry_run? boolean  sent even under --dry-run (a write that changes nothing)

local http = {}

--- A transfer failure raises network | timeout | tls | too_large; an HTTP error status is a response.
--- permission_denied: a PagerDuty credential origin, or a host --allow-net does not grant
--- (under --strict, every host until granted); invalid_argument: bad options or a framing
--- header (Content-Length, Transfer-Encoding, Host, Connection, ...). Nothing is sent then.
---@param opts http.Options
---@return http.Response
function http.request(opts) end

---@param url string
---@param opts? http.Options
---@return http.Response
function http.get(url, opts) end
---@return http.Response
function http.post(url, opts) end
---@return http.Response
function http.put(url, opts) end
---@return http.Response
function http.patch(url, opts) end
---@return http.Response
function http.delete(url, opts) end
---@return http.Response
function http.head(url, opts) end

---@param query table
---@return string
function http.encode_query(query) end

---@param s string
---@return string
function http.encode_component(s) end

---@param opts { max_per_host: integer?, max_total: integer? }
function http.configure(opts) end

return http
