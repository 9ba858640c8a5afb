// One live stream of all the signed-in user's events (GET /v1/events), shared by every
// panel: a browser holds six connections to a host, so panels never open one per job.

import { follow } from "./sse.js";

export class Feed {
  constructor() {
    this.listeners = new Set();
    this.reopenListeners = new Set();
    this.controller = new AbortController();
    this.connected = false;
  }

  start() {
    follow("/v1/events", {
      signal: this.controller.signal,
      onOpen: () => {
        // anything that happened while the stream was away is read again by the panels
        if (this.connected) for (const fn of this.reopenListeners) fn();
        this.connected = true;
        document.documentElement.dataset.feed = "live";
      },
      onEvent: (event) => {
        for (const fn of this.listeners) fn(event);
      },
    });
  }

  /** Call fn(event envelope) for every event; returns the function that stops it. */
  subscribe(fn, onReopen) {
    this.listeners.add(fn);
    if (onReopen) this.reopenListeners.add(onReopen);
    return () => {
      this.listeners.delete(fn);
      if (onReopen) this.reopenListeners.delete(onReopen);
    };
  }

  stop() {
    this.controller.abort();
    this.listeners.clear();
    this.reopenListeners.clear();
    delete document.documentElement.dataset.feed;
  }
}
