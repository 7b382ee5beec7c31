-- Argo CD action discovery for coxswain.dev/Microservice.
--
-- Every action is listed; the ones the operator would refuse now are disabled. The rules mirror
-- the operator's own (src/rollout/actions.ts takeAction and answerBlocked, rolling.ts, and the
-- strategies' promotable in canary.ts and blueGreen.ts), read from status as the operator wrote it:
--   a request still pending, a status behind the spec, or an invalid spec  -> all disabled
--   pause / resume        while not / while paused by an action
--   restart               always (not while the Gateway API is missing)
--   a first rollout, or RollingUpdate: nothing else
--   abort, promote-full   while a revision rolls out
--   promote               at a pause or analysis step the candidate has reached, or a Ready preview
--   retry                 while the spec's revision is aborted
--   undo                  while a revision rolls out, or with the previous revision still kept
-- Argo CD gives a discovery script no string library; nothing here calls string.*.
local names = { "promote", "promote-full", "abort", "retry", "undo", "pause", "resume", "restart" }
local enabled = {}

local meta = obj.metadata
local status = obj.status or {}
local rollout = status.rollout or {}
local spec = obj.spec or {}
local strategy = spec.strategy or {}

local function condition(type)
  for _, c in ipairs(status.conditions or {}) do
    if c.type == type and c.status == "True" then
      return c.reason
    end
  end
  return nil
end

-- The request in the annotation, unless the operator has answered it (it clears it right after).
-- Without a string library the answered value is recognised whole: `<action>:<id>`.
local request = (meta.annotations or {})["coxswain.dev/action"]
local last = status.lastAction
local pending = request ~= nil and request ~= "" and not (last ~= nil and request == last.action .. ":" .. last.id)
local current = status.observedGeneration ~= nil and (meta.generation == nil or status.observedGeneration >= meta.generation)
local stalled = condition("Stalled")

-- Where a promote goes on: the canary at a pause or analysis step its candidate has reached (it
-- has the step's Ready pods, so rollout.unreadySince is unset, and the step is under way: its
-- pause waiting, timed or not, or its analysis started; held, the Ready pods alone tell), and
-- blue-green with its preview Ready.
local function promotable(desired)
  local step = rollout.step or 0
  if strategy.type == "BlueGreen" then
    local size = spec.replicas or 1
    local preview = (strategy.blueGreen or {}).previewReplicas
    if preview ~= nil and preview < size then
      size = preview
    end
    local slot = (status.slots or {})[rollout.candidateSlot or ""]
    return step == 0 and slot ~= nil and slot.revision == desired and (slot.readyReplicas or 0) >= size and (slot.replicas or 0) >= size
  end
  local kind = ((strategy.canary or {}).steps or {})[step + 1]
  if kind == nil or (kind.pause == nil and kind.analysis == nil) or rollout.unreadySince ~= nil then
    return false
  end
  local held = rollout.paused == true or spec.paused == true
  if held or rollout.pausedUntil ~= nil or rollout.message == "waiting for promotion at step " .. step .. ": kubectl coxswain promote " .. meta.name then
    return true
  end
  local run = (rollout.analysis or {}).step
  return run ~= nil and run.id == "step-" .. step and run.revision == desired
end

if not pending and current and stalled ~= "InvalidSpec" then
  local desired = status.desiredRevision
  local stable = status.stableRevision
  local rolling = stable ~= nil and desired ~= stable and rollout.abortedRevision ~= desired
  local aborted = stable ~= nil and desired ~= stable and rollout.abortedRevision == desired
  enabled["pause"] = rollout.paused ~= true
  enabled["resume"] = rollout.paused == true
  if stalled == "GatewayAPIMissing" then
    -- Blocked: only what changes status alone is carried out.
    enabled["abort"] = rolling
  else
    enabled["restart"] = true
    if stable ~= nil and (strategy.type == "Canary" or strategy.type == "BlueGreen") then
      local idle = "blue"
      if status.activeSlot == "blue" then
        idle = "green"
      end
      local previous = rollout.previousRevision
      local kept = ((status.slots or {})[idle] or {}).revision
      enabled["abort"] = rolling
      enabled["promote-full"] = rolling
      enabled["promote"] = rolling and promotable(desired)
      enabled["retry"] = aborted
      enabled["undo"] = rolling or (previous ~= nil and kept == previous and previous ~= desired and not aborted)
    end
  end
end

local actions = {}
for _, name in ipairs(names) do
  actions[name] = { ["disabled"] = enabled[name] ~= true }
end
actions["promote-full"]["displayName"] = "promote --full"
-- Undo to a kept revision (its hash, from kubectl coxswain history); empty: the previous one.
actions["undo"]["params"] = { { ["name"] = "revision" } }
return actions
