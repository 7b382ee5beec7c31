-- Argo CD resource action for coxswain.dev/Microservice: asks the operator for one action, as
-- `kubectl coxswain` does. argocd-cm.yaml carries this script once per action, each with its own
-- name on the next line (hack/tools/argocd checks that they are this script).
local action = "promote"
--
-- It writes only the coxswain.dev/action annotation, `<action>[=<revision>]:<id>`, never the spec:
-- Git is untouched and self-heal has nothing to revert. The operator carries a request out once
-- (by its id), answers in status.lastAction and clears the annotation. The id is the plugin's
-- (src/cli/request.ts): the time in milliseconds in base 36, a dash, six hex digits; here the six
-- come from the resourceVersion, so two presses on one version of the object ask once, and a
-- press on a later version is a new request. Argo CD gives an action no string library (only
-- os.time and os.date): the id is made with arithmetic.
local os = require("os")
local KEY = "coxswain.dev/action"

local alphabet = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f", "g", "h",
  "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z" }

-- n (a whole number >= 0) in base `base`, at least `width` digits.
local function digits(n, base, width)
  local out = ""
  repeat
    local d = n % base
    out = alphabet[d + 1] .. out
    n = (n - d) / base
  until n == 0
  while #out < width do
    out = "0" .. out
  end
  return out
end

-- One request at a time: a second would overwrite the first before the operator saw it.
local annotations = obj.metadata.annotations or {}
local request = annotations[KEY]
local last = (obj.status or {}).lastAction
if request ~= nil and request ~= "" and not (last ~= nil and request == last.action .. ":" .. last.id) then
  error(obj.metadata.name .. " already has an action waiting for the operator (" .. KEY .. "=" .. request
    .. "); wait for its answer, or withdraw it: kubectl annotate microservice " .. obj.metadata.name .. " " .. KEY .. "-", 0)
end

local value = action
local revision = (actionParams or {})["revision"]
if action == "undo" and revision ~= nil and revision ~= "" then
  -- A revision is a content hash: ten hex digits (kubectl coxswain history shows them).
  if #revision ~= 10 or tonumber(revision, 16) == nil then
    error("revision " .. revision .. ": a revision hash of 10 hex digits, as kubectl coxswain history shows", 0)
  end
  value = value .. "=" .. revision
end

local version = tonumber(obj.metadata.resourceVersion or "0") or 0
annotations[KEY] = value .. ":" .. digits(os.time() * 1000, 36, 1) .. "-" .. digits(version % 16777216, 16, 6)
obj.metadata.annotations = annotations
return obj
