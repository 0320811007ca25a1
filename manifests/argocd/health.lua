-- Argo CD health check for ripcord.dev/Release.
--
-- The Release follows kstatus: Reconciling=True while a rollout runs, Stalled=True when a
-- rollout was rolled back or aborted or the spec is invalid, Ready=True when the stable
-- version serves everything. Like Argo Rollouts' check, it first makes sure the operator
-- has seen the spec Argo CD just synced, so a sync never reads the previous rollout's state.
--
--   Degraded     Stalled=True: rolled back, aborted, invalid spec (the message says which)
--   Suspended    Reconciling=True for a reason that waits on a person: paused by request or
--                spec.paused (Paused), a pause step (PauseStep), approval before promotion
--                (AwaitingApproval), no verdict by analysis.maxDuration (NoVerdict), or
--                AwaitingPromotion
--   Progressing  status not written yet, generation not observed, canary running, promoting,
--                post-promotion watch, rolling back
--   Healthy      Ready=True
local hs = {}
if obj.status == nil or obj.status.observedGeneration == nil or obj.metadata.generation == nil
    or obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ripcord operator to observe the latest spec"
  return hs
end

local waiting = {Paused = true, PauseStep = true, AwaitingApproval = true, NoVerdict = true,
                 AwaitingPromotion = true}
local ready = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Stalled" and c.status == "True" then
      hs.status = "Degraded"
      hs.message = c.message
      return hs
    end
    if c.type == "Reconciling" and c.status == "True" then
      if waiting[c.reason] then
        hs.status = "Suspended"
      else
        hs.status = "Progressing"
      end
      hs.message = c.message
      return hs
    end
    if c.type == "Ready" then
      ready = c
    end
  end
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end

hs.status = "Progressing"
hs.message = obj.status.message or "Waiting for the release to become Ready"
return hs
