/**
 * A JPEG decode worker thread: reads a file and decodes it with the scaled decoder. Replies
 * with the pixels, or with the file's bytes and the reason when the file needs another
 * decoder (the main thread then uses sharp, and reports unreadable files as it always does).
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { isJpeg } from '../decode.ts';
import { decodeJpegExactNearestInto, decodeJpegNearestInto, decodeJpegScaled, JpegFallback } from './decode-scaled.ts';
import type { DecodeReply, DecodeRequest } from './pool.ts';

const port = parentPort;
if (!port) throw new Error('jpeg/worker.ts must run in a worker thread');
const shared = (workerData as { output?: SharedArrayBuffer } | undefined)?.output;
const output = shared ? new Uint8Array(shared) : undefined;

port.on('message', (req: DecodeRequest) => {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(req.path);
  } catch (e) {
    port.postMessage({ id: req.id, readError: (e as Error).message } satisfies DecodeReply);
    return;
  }
  if (!isJpeg(bytes)) {
    const copy = new Uint8Array(bytes);
    port.postMessage({ id: req.id, bytes: copy, reason: 'not a JPEG' } satisfies DecodeReply, [copy.buffer as ArrayBuffer]);
    return;
  }
  try {
    if (req.offset !== undefined && output) {
      if (req.exact) decodeJpegExactNearestInto(bytes, req.minW, req.minH, output, req.offset);
      else decodeJpegNearestInto(bytes, req.minW, req.minH, output, req.offset);
      port.postMessage({ id: req.id, written: true } satisfies DecodeReply);
      return;
    }
    if (req.exact) throw new JpegFallback('exact decodes need an output offset');
    const img = decodeJpegScaled(bytes, req.minW, req.minH);
    port.postMessage({ id: req.id, pixels: img.data, width: img.width, height: img.height } satisfies DecodeReply, [img.data.buffer as ArrayBuffer]);
  } catch (e) {
    if (!(e instanceof JpegFallback)) throw e;
    const copy = new Uint8Array(bytes);
    port.postMessage({ id: req.id, bytes: copy, reason: e.message } satisfies DecodeReply, [copy.buffer as ArrayBuffer]);
  }
});
