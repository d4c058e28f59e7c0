-- Argo CD health check for awsorg.io/AuditManagerOrgConfig.
-- Healthy:     Ready is True for the current generation: status.observedGeneration and the
--              condition's observedGeneration (when set) equal metadata.generation.
-- Progressing: the operator has not observed the current generation yet, or Ready is not True
--              for a reason that resolves itself (an AWS change in flight, throttling, a 5xx,
--              a concurrent change in AWS Organizations, a deletion under way), or Ready is
--              Unknown.
-- Degraded:    Ready is False for a reason that needs a person.
-- The message is the Ready condition's reason and message.
-- Uses only Lua 5.1's base library: Argo CD runs argocd-cm health checks without the string and
-- math libraries unless resource.customizations.useOpenLibs is set.
local hs = {}

-- Reasons that fix themselves: the operator retries and Ready turns True without anyone acting.
local temporary = {
  Pending = true,
  Throttled = true,
  AwsError = true,
  Deleting = true,
  ConcurrentModification = true,
}

local function describe(condition)
  local reason = condition.reason or "NoReason"
  if condition.message ~= nil and condition.message ~= "" then
    return reason .. ": " .. condition.message
  end
  return reason
end

local generation = obj.metadata.generation
local status = obj.status

if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = nil
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition of generation " .. tostring(generation)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" and not temporary[ready.reason] then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = describe(ready)
return hs
