/** `n` rounded to `d` decimals */
export const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d

/** the middle value (the mean of the two middle ones for an even count); 0 for none */
export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
