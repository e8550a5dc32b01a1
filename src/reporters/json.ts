/** NDJSON reporter: every engine event as one JSON line (`--reporter json`), for other tools. */
import type { EngineEvent } from '../executor/events.ts';

/** Writes each event as one line of JSON. */
export class JsonReporter {
  constructor(private readonly out: NodeJS.WritableStream) {}
  /** Write the event. */
  handle(e: EngineEvent): void {
    this.out.write(`${JSON.stringify(e)}\n`);
  }
  /** Nothing to tidy. */
  close(): void {}
}
