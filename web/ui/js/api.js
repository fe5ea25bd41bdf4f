// api.js: gyre's HTTP API as the UI uses it. The token lives in
// sessionStorage (gone when the tab closes) and goes out as a bearer
// header; no cookies, so there is nothing for another site to forge.

const TOKEN_KEY = 'gyre.token';

// APIError is a failed API call: the server's message and the HTTP status.
export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// token returns the stored token, or "".
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

// setToken stores the token; an empty one signs out.
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// unauthorized is called when the server rejects the token (set by main).
let unauthorized = () => {};
export function onUnauthorized(fn) {
  unauthorized = fn;
}

// request calls the API and returns the decoded JSON body (null for an
// empty one). It throws an APIError with the server's {"error": ...}
// message for a non-2xx answer.
export async function request(method, path, body) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token()}` };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new APIError(0, `gyre is not reachable (${err.message})`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const message = (data && data.error) || text.trim() || `${res.status} ${res.statusText}`;
    if (res.status === 401) unauthorized(message);
    throw new APIError(res.status, message);
  }
  return data;
}

// get is request('GET', ...) with query parameters; empty values are left out.
export function get(path, params = {}) {
  return request('GET', path + query(params));
}

// query encodes params as "?a=1&b=2", leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

// appPath returns the API path of one Application, plus suffix.
export function appPath(namespace, name, suffix = '') {
  return `/api/v1/applications/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}${suffix}`;
}

// keyParams turns a resource key into the query parameters of the
// resource and events endpoints.
export function keyParams(key, version) {
  return { group: key.group || '', version: version || '', kind: key.kind, namespace: key.namespace || '', name: key.name };
}

// Stream is the one server-sent-events connection of the page. EventSource
// cannot send headers, and a token in a URL ends up in logs, so each
// connection first gets a ticket (POST /api/v1/stream/ticket, with the
// token as a bearer header) good for one connection within a minute, and
// opens the stream with ?ticket=. EventSource would retry a dropped
// connection with the spent ticket, so on any error the source is closed
// and a new ticket fetched. Listeners get every AppSummary, and
// {namespace, name, deleted: true} for an application that is gone;
// status listeners get "connecting", "open" or "closed". After the
// connection was lost and comes back, reconnect listeners run, so views
// can fetch what they missed.
export class Stream {
  constructor() {
    this.listeners = new Set();
    this.statusListeners = new Set();
    this.reconnectListeners = new Set();
    this.active = false;
    this.source = null;
    this.retry = null;
    this.attempt = 0;
    this.wasOpen = false;
    this.state = 'off';
  }

  start() {
    this.stop();
    this.active = true;
    this.setState('connecting');
    this.connect();
  }

  // connect gets a ticket and opens the EventSource with it. A connect
  // that a stop or a newer connect overtook does nothing more.
  async connect() {
    const attempt = ++this.attempt;
    const current = () => this.active && attempt === this.attempt;
    let ticket;
    try {
      ticket = (await request('POST', '/api/v1/stream/ticket')).ticket;
    } catch {
      // A 401 has signed the page out (request calls unauthorized), which
      // stops the stream; anything else is tried again in a while.
      if (current()) this.reconnect('closed', 5000);
      return;
    }
    if (!current()) return;
    const es = new EventSource('/api/v1/stream' + query({ ticket }));
    this.source = es;
    let opened = false;
    es.addEventListener('open', () => {
      opened = true;
      if (this.wasOpen) this.reconnectListeners.forEach((fn) => fn());
      this.wasOpen = true;
      this.setState('open');
    });
    es.addEventListener('application', (ev) => {
      let summary;
      try {
        summary = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.listeners.forEach((fn) => fn(summary));
    });
    es.addEventListener('application-deleted', (ev) => {
      let key;
      try {
        key = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.listeners.forEach((fn) => fn({ ...key, deleted: true }));
    });
    es.addEventListener('error', () => {
      es.close();
      if (this.source !== es) return;
      this.source = null;
      // A dropped connection is taken up again soon; one the server
      // refused, in a while.
      if (current()) this.reconnect(opened ? 'connecting' : 'closed', opened ? 1000 : 5000);
    });
  }

  reconnect(state, delay) {
    this.setState(state);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  stop() {
    this.active = false;
    this.attempt++;
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.source = null;
    this.setState('off');
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.statusListeners.forEach((fn) => fn(state));
  }

  // on adds a listener to one of the sets and returns a function that
  // removes it.
  on(set, fn) {
    set.add(fn);
    return () => set.delete(fn);
  }
}
