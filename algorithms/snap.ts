/**
 * Recovers a whole number from a stored float that was computed as `whole / scale`: e.g. the
 * token count 2/3 stored as 0.6666666666666666 gives back exactly 2 when multiplied by 3. Values
 * that are not within a few ulps of a whole number (fractional clocks or costs) pass unchanged.
 * The Lua twins inline the same expression (`SNAP_LUA`), operation for operation.
 */
export function snap(x: number): number {
  const whole = Math.floor(x + 0.5)
  return Math.abs(x - whole) <= Math.max(1e-6, Math.abs(x) * 8.881784197001252e-16) ? whole : x
}

export const SNAP_LUA = `
local function snap(x)
  local whole = math.floor(x + 0.5)
  if math.abs(x - whole) <= math.max(1e-6, math.abs(x) * 8.881784197001252e-16) then return whole end
  return x
end
`
