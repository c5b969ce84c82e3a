/**
 * Waits for something the test can observe (a state entered, an instance launched) instead
 * of a fixed sleep standing for "the workflow got there": on a busy machine a sleep is too
 * short, on an idle one it is wasted. The bound only turns a hang into a clear failure.
 */
export async function until<T>(
  what: string,
  look: () => T | undefined | false | Promise<T | undefined | false>,
  { withinMs = 60_000, everyMs = 10 }: { withinMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const seen = await look();
    if (seen) return seen;
    if (Date.now() > deadline) throw new Error(`waited ${withinMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
