-- Argo CD health check for coxswain.dev/Microservice.
--
-- Argo CD runs it with gopher-lua (Lua 5.1) and, for a check configured in argocd-cm, only the
-- base, table and package libraries: no string library, so nothing here calls string.*.
-- It reads what the operator reports and never second-guesses it:
--   status not yet written, or observedGeneration behind metadata.generation -> Progressing
--   Stalled=True (NameConflict, ApplyFailed, InvalidSpec, RolloutAborted, ...)  -> Degraded
--   phase Degraded                                                             -> Degraded
--   phase Paused (spec.paused, or a rollout step waiting for promotion)        -> Suspended
--   Ready=True and phase Healthy                                               -> Healthy
--   anything else (Pending, Progressing)                                       -> Progressing
local hs = { status = "Progressing", message = "Waiting for Coxswain to report status" }

local function condition(status, type)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

-- "reason: message", or whichever of the two is there.
local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  if c.reason ~= nil and c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil then
    return c.reason
  end
  return fallback
end

local status = obj.status
if status == nil then
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.message = "Waiting for Coxswain to observe generation " .. generation
  return hs
end

local ready = condition(status, "Ready")
local stalled = condition(status, "Stalled")
local reconciling = condition(status, "Reconciling")
local rollout = status.rollout or {}

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

-- The rollout's own words when it has them, else the Ready condition's.
local function explain(fallback)
  if rollout.message ~= nil and rollout.message ~= "" then
    return rollout.message
  end
  return describe(ready, fallback)
end

if status.phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = explain("Degraded")
  return hs
end

if status.phase == "Paused" then
  hs.status = "Suspended"
  hs.message = explain("Paused")
  return hs
end

if status.phase == "Healthy" and ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Healthy")
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling, "Progressing")
elseif ready ~= nil then
  hs.message = describe(ready, "Progressing")
end
return hs
