// Server-Sent Events read with fetch(): EventSource cannot send an Authorization header,
// and the credential must never ride in a URL.

import { request } from "./api.js";

/** Feed text chunks in; get whole events {id, event, data} out (the WHATWG parsing rules). */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.fields = { id: null, event: "message", data: [] };
  }

  push(chunk) {
    this.buffer += chunk;
    const events = [];
    let newline;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      if (line === "") {
        if (this.fields.data.length) {
          events.push({ ...this.fields, data: this.fields.data.join("\n") });
        }
        this.reset();
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "data") this.fields.data.push(value);
        else if (name === "event") this.fields.event = value;
        else if (name === "id") this.fields.id = value;
      }
    }
    return events;
  }
}

/**
 * Follow path's event stream until signal aborts. onEvent(parsed JSON data, event name) for
 * each event; onOpen() each time the stream (re)connects, so the caller can catch up on what
 * happened while it was away; onEnd() when the server ended the stream and `once` is set.
 * Reconnects after a drop, waiting longer each time (at most 10 s), resuming by Last-Event-ID.
 */
export async function follow(path, { onEvent, onOpen, onEnd, onError, signal, params, once = false }) {
  let lastId = null;
  let wait = 500;
  while (!signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const response = await request(path, { headers, params, signal });
      wait = 500;
      onOpen?.();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.push(value)) {
          if (event.id) lastId = event.id;
          onEvent(JSON.parse(event.data), event.event);
        }
      }
      if (once) {
        onEnd?.();
        return;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error.status && error.status < 500 && error.status !== 429) {
        onError?.(error);
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 10_000);
  }
}
