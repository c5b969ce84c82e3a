import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * An append-only record of a simulated fleet: one JSON line per change of an instance, the
 * last line for an id wins. Each change is appended before the call that made it returns,
 * so whatever a caller was told (an instance id it then stored) survives a killed process;
 * a line torn by the kill is skipped on reading.
 */
export class FleetJournal<Entry extends { id: string }> {
  constructor(private readonly file: string) {}

  /** Every entry's latest state, in first-seen order, and the journal rewritten to just those. */
  load(): Entry[] {
    if (!existsSync(this.file)) return [];
    const latest = new Map<string, Entry>();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as Entry;
        if (typeof entry.id === 'string') latest.set(entry.id, entry);
      } catch {
        // The last line of a process killed mid-write.
      }
    }
    const entries = [...latest.values()];
    const compacted = `${this.file}.compacting`;
    writeFileSync(compacted, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    renameSync(compacted, this.file);
    return entries;
  }

  record(entry: Entry) {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }
}
