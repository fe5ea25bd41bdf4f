if obj.data ~= nil and obj.data.broken == "yes" then
  return {status = "Degraded", message = "data.broken is yes"}
end
return {status = "Healthy"}
