/**
 * The complexity data's held-out split: one prompt in five, chosen by a hash (FNV-1a) of its text,
 * so the split never depends on the file's order. Training uses the rest; the report and the
 * package's accuracy test use only these.
 */
export const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0
  return h
}

export const isHeldOut = (text: string): boolean => fnv1a(text) % 5 === 0
