// The /v1 API as the page uses it: the key from this tab's session storage
// as a bearer token, and the API's {error: {code, message, field}} as an
// APIError the page can show.

const storageKey = 'securo.apiKey';

export class APIError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

export function apiKey() {
  return sessionStorage.getItem(storageKey) || '';
}

export function setAPIKey(key) {
  sessionStorage.setItem(storageKey, key);
}

export function clearAPIKey() {
  sessionStorage.removeItem(storageKey);
}

// call sends one request; body (if given) goes as JSON. It resolves to the
// parsed answer (null for 204) or rejects with an APIError.
export async function call(method, path, body, key = apiKey()) {
  const headers = { Accept: 'application/json', Authorization: 'Bearer ' + key };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new APIError(0, 'network', 'The API did not answer (' + err.message + '). Is the service running?');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new APIError(res.status, e.code || 'http_' + res.status, e.message || text || res.statusText, e.field);
  }
  return data;
}

// query builds a query string from the non-empty values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
