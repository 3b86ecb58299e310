// Small helpers to build the page from elements, never from HTML strings,
// so nothing the API returns can become markup.

// h makes an element. attrs: class, text, on<event> handlers, boolean
// properties (checked, disabled, hidden...), data and aria attributes.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (['checked', 'disabled', 'hidden', 'value', 'selected', 'required'].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// time shows an RFC 3339 time in the reader's zone, to the second.
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return h('time', { datetime: iso, title: iso }, text);
}

export function modeBadge(sandbox) {
  return sandbox ? h('span', { class: 'badge sandbox', text: 'Sandbox' }) : h('span', { class: 'badge live', text: 'Live' });
}

export function statusBadge(status, reason) {
  const label = reason ? `${status} · ${reason.replaceAll('_', ' ')}` : status;
  return h('span', { class: 'badge status-' + status, text: label });
}

export function enabledBadge(ep) {
  if (ep.enabled) return h('span', { class: 'badge on', text: 'Enabled' });
  const why = ep.disabled_reason && ep.disabled_reason !== 'manual' ? ` (${ep.disabled_reason})` : '';
  return h('span', { class: 'badge off', text: 'Disabled' + why });
}

export function eventTypes(ep) {
  const types = ep.event_types || [];
  if (types.length === 0 || types.includes('*')) return 'All events';
  return types.join(', ');
}

// cell is a table cell with its column's name, which narrow screens show
// beside the value.
export function cell(label, ...children) {
  return h('td', { 'data-label': label }, ...children);
}
