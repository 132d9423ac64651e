/** Shortest secret key accepted, in bytes of its configured text (HS256 wants 256 bits). */
export const MIN_SECRET_BYTES = 32;

/**
 * Fewest bits the estimate below must find. Random keys from a generator land far above it
 * (32 random bytes as base64url: 179 to 225 in 100,000 draws; even 16 random bytes as hex: 82 to
 * 127), typed and patterned ones far below ('changeme' x 4: 23, 'a' x 32: 0).
 */
export const MIN_SECRET_BITS = 64;

// The estimate reads this much of a long secret: a strong start is enough, and it bounds the work.
const ANALYSED_CHARACTERS = 256;
// A repeat shorter than this is not counted as one (random text repeats pairs by chance).
const MIN_REPEAT = 3;

/**
 * Why `value` will not do as the secret in `variable`, or undefined when it will; the message
 * never contains the value. Checked on the configured text. A floor against guessable keys
 * (short, repeated, sequences, few distinct characters), not a randomness test: keys should come
 * from a generator (docs/decisions.md, "Production refuses weak settings").
 */
export function secretProblem(variable: string, value: string): string | undefined {
  if (Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES) {
    return `${variable}: must be at least ${MIN_SECRET_BYTES} bytes`;
  }
  if (estimatedBits(value) < MIN_SECRET_BITS) {
    return (
      `${variable}: too predictable (a repeated pattern, a sequence or too few distinct ` +
      'characters); use at least 32 random bytes, e.g. ' +
      `node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))"`
    );
  }
  return undefined;
}

/**
 * Bits of entropy the text plausibly carries: its Shannon entropy per character times the number
 * of pieces it is made of once repeats are counted as one piece each (a greedy LZ77 parse). The
 * same is done to the differences between neighbouring code points, which turns a sequence into
 * a repeat; the lower of the two is the estimate.
 */
function estimatedBits(value: string): number {
  const characters = Array.from(value)
    .slice(0, ANALYSED_CHARACTERS)
    .map((character) => character.codePointAt(0) ?? 0);
  const steps = characters.slice(1).map((code, index) => code - (characters[index] ?? 0));
  return Math.min(pieces(characters) * shannonBits(characters), pieces(steps) * shannonBits(steps));
}

function shannonBits(symbols: number[]): number {
  const counts = new Map<number, number>();
  for (const symbol of symbols) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / symbols.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Literals plus back-references of a greedy LZ77 parse (overlapping matches allowed). */
function pieces(symbols: number[]): number {
  let count = 0;
  for (let position = 0; position < symbols.length; count++) {
    let longest = 0;
    for (let start = 0; start < position; start++) {
      let length = 0;
      while (
        position + length < symbols.length &&
        symbols[start + length] === symbols[position + length]
      )
        length++;
      longest = Math.max(longest, length);
    }
    position += longest >= MIN_REPEAT ? longest : 1;
  }
  return count;
}
