/** Writing JSON, text and streamed responses. */
import type { ServerResponse } from 'node:http';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * A chunked response written piece by piece: each write waits for the socket to drain, so a slow
 * reader holds back the producer instead of memory filling up. A failure after the headers went
 * out cannot change the status any more: the connection is destroyed, so the client sees a broken
 * transfer rather than a complete-looking, truncated body. The error propagates for the log.
 */
export async function sendStream(
  res: ServerResponse,
  status: number,
  pieces: AsyncIterable<string>,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const iterator = pieces[Symbol.asyncIterator]();
  // Read the first piece before the headers: an error there (say, the database is down) still
  // gets its proper status and JSON body.
  let next = await iterator.next();
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  try {
    while (!next.done) {
      if (res.destroyed) {
        await iterator.return?.();
        return;
      }
      if (!res.write(next.value)) await drained(res);
      next = await iterator.next();
    }
    res.end();
  } catch (thrown) {
    res.destroy();
    throw thrown;
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
