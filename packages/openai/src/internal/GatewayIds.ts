/**
 * The item ids the gateway mints for the items of its responses (`<kind>_<response>_<index>`,
 * see `ResponsesResponse.idsFor`), read back: which response an item belongs to. Here, apart,
 * so the request side (`ResponsesRequest`) can tell them without importing the response side.
 */

/** The response an item id of ours belongs to, or `undefined`. */
export const responseOfItem = (itemId: string): string | undefined => {
  const match = /^(?:msg|fc|rs)_(.+)_\d+$/.exec(itemId)
  return match === null ? undefined : `resp_${match[1]}`
}

/** Whether `itemId` is one the gateway minted. */
export const isGatewayItemId = (itemId: string): boolean => responseOfItem(itemId) !== undefined
