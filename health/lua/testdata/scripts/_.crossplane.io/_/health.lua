-- Any Crossplane managed resource: Ready and Synced conditions.
local ready, synced
for _, c in ipairs((obj.status or {}).conditions or {}) do
  if c.type == "Ready" then ready = c end
  if c.type == "Synced" then synced = c end
end
if synced ~= nil and synced.status == "False" then
  return {status = "Degraded", message = synced.message or ""}
end
if ready ~= nil and ready.status == "True" then
  return {status = "Healthy", message = ""}
end
return {status = "Progressing", message = "waiting for " .. obj.kind .. " to be ready"}
