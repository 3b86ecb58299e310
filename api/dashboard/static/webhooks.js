// The Webhooks page: the Webhook tab (endpoints) and the Events tab.
import { call, query } from './api.js';
import { cell, clear, enabledBadge, eventTypes, h, modeBadge, statusBadge, time } from './dom.js';

export const disabledNote =
  'A disabled endpoint receives nothing: events generated while it is disabled are not sent to it later, even after you enable it again.';

export async function renderWebhooks(main, app, tab, params, gen) {
  const tabs = [
    { id: 'webhook', label: 'Webhook' },
    { id: 'events', label: 'Events' },
  ];
  if (!tabs.some((t) => t.id === tab)) tab = 'events';
  const panel = h('div', { id: 'panel-' + tab, role: 'tabpanel', 'aria-labelledby': 'tab-' + tab, class: 'panel' }, h('p', { class: 'muted', text: 'Loading…' }));
  const tablist = h(
    'div',
    { role: 'tablist', 'aria-label': 'Webhooks', class: 'tabs' },
    tabs.map((t) =>
      h('button', {
        type: 'button', role: 'tab', id: 'tab-' + t.id, 'aria-selected': String(t.id === tab), 'aria-controls': 'panel-' + t.id,
        class: t.id === tab ? 'tab selected' : 'tab', text: t.label,
        onclick: () => app.navigate('#/webhooks/' + t.id, 'tab-' + t.id),
        onkeydown: (e) => {
          if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
          const other = tabs.find((o) => o.id !== t.id);
          app.navigate('#/webhooks/' + other.id, 'tab-' + other.id);
        },
      }),
    ),
  );
  clear(
    main,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text: 'Webhooks' }),
      h('p', { class: 'lede', text: 'Webhooks tell your backend, as it happens, that something happened in your Securo account. Register an endpoint on the Webhook tab; follow what was sent on the Events tab.' })),
    tablist,
    panel,
  );
  if (tab === 'webhook') await renderEndpoints(panel, app, gen);
  else await renderEvents(panel, app, params, gen);
}

// health sums up an endpoint's recent deliveries.
function health(ep, deliveries) {
  if (deliveries === null) return h('span', { class: 'muted', text: 'unknown' });
  const ended = deliveries.filter((d) => d.status === 'succeeded' || d.status === 'failed');
  const ok = ended.filter((d) => d.status === 'succeeded').length;
  const pending = deliveries.filter((d) => d.status === 'pending').length;
  if (deliveries.length === 0) return h('span', { class: 'health none', text: 'No deliveries yet' });
  let kind = 'good';
  let word = 'Healthy';
  if (ep.failing_since || (ended.length > 0 && ended[0].status === 'failed')) {
    kind = 'bad';
    word = 'Failing';
  } else if (ok < ended.length || (ended.length === 0 && pending > 0)) {
    kind = 'warn';
    word = ended.length === 0 ? 'Pending' : 'Some failed';
  }
  const detail = `${ok} of ${ended.length} succeeded` + (pending ? `, ${pending} pending` : '');
  return h('span', { class: 'health ' + kind }, h('span', { class: 'dot', 'aria-hidden': 'true' }), `${word} · ${detail}`);
}

async function renderEndpoints(panel, app, gen) {
  const listSlot = h('div', { id: 'endpoints-list' });
  const formSlot = h('div', { id: 'form-slot' });
  const addButton = h('button', {
    type: 'button', class: 'primary', id: 'add-endpoint', text: 'Add Endpoint',
    onclick: () => {
      addButton.hidden = true;
      showForm(formSlot, app, null, {
        done: (created) => {
          if (created) {
            showSecret(formSlot, app, created);
            loadEndpoints(listSlot, app, gen).catch((err) => app.fail(err));
          } else {
            formSlot.replaceChildren();
            addButton.hidden = false;
            addButton.focus();
          }
        },
      });
    },
  });
  await loadEndpoints(listSlot, app, gen);
  if (!app.current(gen)) return;
  clear(
    panel,
    h('div', { class: 'panel-head' },
      h('p', { text: 'Endpoints are the HTTPS URLs on your servers that receive your account\'s events, signed so you can check they come from Securo.' }),
      addButton),
    formSlot,
    listSlot,
    h('p', { class: 'note', text: disabledNote }),
  );
}

// loadEndpoints draws the account's endpoints, each with the health of its
// recent deliveries.
async function loadEndpoints(slot, app, gen) {
  const list = await call('GET', '/v1/endpoints?limit=100');
  const recent = await Promise.all(
    list.data.map((ep) => call('GET', `/v1/endpoints/${encodeURIComponent(ep.id)}/deliveries?limit=20`).then((r) => r.data, () => null)),
  );
  if (!app.current(gen)) return;
  const rows = list.data.map((ep, i) =>
    h('tr', { 'data-endpoint': ep.id },
      cell('Endpoint', h('a', { href: '#/endpoints/' + ep.id, class: 'url', text: ep.url }), ep.description ? h('div', { class: 'muted small', text: ep.description }) : null),
      cell('Mode', modeBadge(ep.sandbox)),
      cell('Event types', eventTypes(ep)),
      cell('State', enabledBadge(ep)),
      cell('Recent deliveries', health(ep, recent[i])),
      cell('Actions', h('div', { class: 'row-actions' }, endpointActions(app, ep, { edit: () => app.navigate('#/endpoints/' + ep.id + '?edit=1', 'ep-url'), after: (focusID) => app.navigate('#/webhooks/webhook', focusID) }))),
    ),
  );
  clear(
    slot,
    list.data.length === 0
      ? h('p', { class: 'empty', text: 'No endpoints yet. Add Endpoint to register the first one.' })
      : h('table', { class: 'data', id: 'endpoints' },
        h('caption', { class: 'sr-only', text: 'Endpoints' }),
        h('thead', {}, h('tr', {}, ['Endpoint', 'Mode', 'Event types', 'State', 'Recent deliveries', 'Actions'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows)),
  );
}

// endpointActions are the buttons that change one endpoint: edit, disable
// or enable, delete (after a confirmation).
export function endpointActions(app, ep, { edit, after }) {
  const toggle = h('button', {
    type: 'button', id: 'toggle-' + ep.id, class: ep.enabled ? 'toggle' : 'toggle primary-outline',
    text: ep.enabled ? 'Disable' : 'Enable', 'aria-label': (ep.enabled ? 'Disable ' : 'Enable ') + ep.url,
    onclick: async () => {
      toggle.disabled = true;
      try {
        await call('PATCH', '/v1/endpoints/' + encodeURIComponent(ep.id), { enabled: !ep.enabled });
        app.say(ep.enabled ? `Disabled ${ep.url}. ${disabledNote}` : `Enabled ${ep.url}. It receives events generated from now on.`);
        after(toggle.id);
      } catch (err) {
        toggle.disabled = false;
        app.fail(err);
      }
    },
  });
  const del = h('button', {
    type: 'button', class: 'danger-outline', id: 'delete-' + ep.id, text: 'Delete', 'aria-label': 'Delete ' + ep.url,
    onclick: async () => {
      const yes = await app.confirm('Delete this endpoint?', `${ep.url} stops receiving events at once and disappears from the Dashboard and the API. Its delivery history is kept. This cannot be undone.`, 'Delete endpoint');
      if (!yes) return;
      try {
        await call('DELETE', '/v1/endpoints/' + encodeURIComponent(ep.id));
        app.say(`Deleted ${ep.url}.`);
        app.navigate('#/webhooks/webhook', 'add-endpoint');
      } catch (err) {
        app.fail(err);
      }
    },
  });
  return [h('button', { type: 'button', id: 'edit-' + ep.id, text: 'Edit', 'aria-label': 'Edit ' + ep.url, onclick: edit }), toggle, del];
}

// showForm draws the endpoint form in slot: a new endpoint (ep null) or
// changes to ep. done(created) follows a save (created: the new endpoint,
// with its secret) or a cancel (nothing).
export function showForm(slot, app, ep, { done }) {
  const editing = ep !== null;
  const all = !editing || ep.event_types.length === 0 || ep.event_types.includes('*');
  const url = h('input', { id: 'ep-url', name: 'url', type: 'url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://example.com/securo-webhooks', value: editing ? ep.url : '', 'aria-describedby': 'ep-url-hint' });
  const description = h('input', { id: 'ep-description', name: 'description', type: 'text', value: editing ? ep.description : '', maxlength: '500' });
  const sandbox = h('input', { id: 'ep-sandbox', name: 'sandbox', type: 'checkbox', checked: editing && ep.sandbox, 'aria-describedby': 'ep-sandbox-hint' });
  const typesAll = h('input', { id: 'types-all', name: 'types', type: 'radio', value: 'all', checked: all });
  const typesSome = h('input', { id: 'types-some', name: 'types', type: 'radio', value: 'some', checked: !all });
  const types = h('input', { id: 'ep-types', name: 'event_types', type: 'text', spellcheck: 'false', placeholder: 'dex.swap, payment.*', value: all ? '' : ep.event_types.join(', '), 'aria-label': 'Event types, separated by commas', 'aria-describedby': 'ep-types-hint', disabled: all });
  const sync = () => {
    types.disabled = typesAll.checked;
  };
  typesAll.addEventListener('change', sync);
  typesSome.addEventListener('change', () => {
    sync();
    types.focus();
  });
  const error = h('p', { class: 'form-error', id: 'ep-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'primary', id: 'ep-save', text: 'Save' });
  const fields = { url, description, event_types: types, sandbox };
  const form = h(
    'form',
    { class: 'card stack', id: 'endpoint-form', novalidate: true, 'aria-labelledby': 'endpoint-form-title' },
    h('h2', { id: 'endpoint-form-title', tabindex: '-1', text: editing ? 'Edit endpoint' : 'Add Endpoint' }),
    h('div', { class: 'field' }, h('label', { for: 'ep-url', text: 'Endpoint URL' }), url,
      h('p', { class: 'hint', id: 'ep-url-hint', text: 'The HTTPS URL of the route that receives events on your server: a route /securo-webhooks on example.com is https://example.com/securo-webhooks.' })),
    h('div', { class: 'field' }, h('label', { for: 'ep-description' }, 'Description ', h('span', { class: 'muted', text: '(optional)' })), description),
    h('div', { class: 'field check' }, sandbox, h('label', { for: 'ep-sandbox', text: 'Sandbox' }),
      h('p', { class: 'hint', id: 'ep-sandbox-hint', text: 'Receive sandbox events instead of live ones. Sandbox endpoints may also use http.' })),
    h('fieldset', { class: 'field' }, h('legend', { text: 'Event types' }),
      h('div', { class: 'check' }, typesAll, h('label', { for: 'types-all', text: 'All events' })),
      h('div', { class: 'check' }, typesSome, h('label', { for: 'types-some', text: 'Only these types' })),
      types,
      h('p', { class: 'hint', id: 'ep-types-hint', text: 'Separated by commas; dex.* means every type under dex.' })),
    error,
    h('div', { class: 'actions' }, save, h('button', { type: 'button', id: 'ep-cancel', text: 'Cancel', onclick: () => done(null) })),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    for (const el of Object.values(fields)) el.removeAttribute('aria-invalid');
    const body = {
      url: url.value.trim(),
      description: description.value.trim(),
      sandbox: sandbox.checked,
      event_types: typesAll.checked ? [] : types.value.split(',').map((s) => s.trim()).filter(Boolean),
    };
    save.disabled = true;
    try {
      const saved = editing
        ? await call('PATCH', '/v1/endpoints/' + encodeURIComponent(ep.id), body)
        : await call('POST', '/v1/endpoints', body);
      if (editing) app.say(`Saved ${saved.url}.`);
      done(saved);
    } catch (err) {
      save.disabled = false;
      error.textContent = err.message;
      error.hidden = false;
      const field = fields[err.field];
      if (field) {
        field.setAttribute('aria-invalid', 'true');
        field.focus();
      }
    }
  });
  clear(slot, form);
  url.focus();
}

// showSecret shows a new endpoint's signing secret, this once, with a Copy
// button.
export function showSecret(slot, app, ep) {
  const status = h('p', { class: 'copied', role: 'status', 'aria-live': 'polite' });
  const code = h('code', { id: 'new-secret', text: ep.secret });
  const copy = h('button', {
    type: 'button', id: 'copy-secret', text: 'Copy',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(ep.secret);
        status.textContent = 'Copied to the clipboard.';
      } catch {
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        status.textContent = 'Selected: press Ctrl+C (or ⌘C) to copy.';
      }
    },
  });
  clear(
    slot,
    h('section', { class: 'card stack created', id: 'secret-panel', 'aria-labelledby': 'secret-title' },
      h('h2', { id: 'secret-title', tabindex: '-1', text: 'Endpoint created' }),
      h('p', {}, h('strong', { text: ep.url }), ' ', modeBadge(ep.sandbox), ' receives ', eventTypes(ep).toLowerCase() === 'all events' ? 'all events' : eventTypes(ep), '.'),
      h('p', { text: 'Its signing secret is shown once, here: copy it now and give it to your receiver, which checks every delivery\'s signature with it.' }),
      h('div', { class: 'secret' }, code, copy),
      status,
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#/endpoints/' + ep.id, text: 'Open endpoint' }),
        h('button', { type: 'button', id: 'secret-done', text: 'Done', onclick: () => app.navigate('#/webhooks/webhook', 'add-endpoint') }))),
  );
  document.getElementById('secret-title').focus();
}

async function renderEvents(panel, app, params, gen) {
  const type = params.get('type') || '';
  const mode = params.get('mode') || '';
  const sandbox = mode === 'sandbox' ? 'true' : mode === 'live' ? 'false' : '';
  const typeInput = h('input', { id: 'filter-type', name: 'type', type: 'text', spellcheck: 'false', placeholder: 'dex.swap', value: type });
  const modeSelect = h('select', { id: 'filter-mode', name: 'mode' },
    h('option', { value: '', text: 'Sandbox and live', selected: mode === '' }),
    h('option', { value: 'live', text: 'Live', selected: mode === 'live' }),
    h('option', { value: 'sandbox', text: 'Sandbox', selected: mode === 'sandbox' }));
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter events' },
    h('div', { class: 'field' }, h('label', { for: 'filter-type', text: 'Event type' }), typeInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-mode', text: 'Mode' }), modeSelect),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'filter-apply', text: 'Filter' }),
      h('button', { type: 'button', id: 'filter-clear', text: 'Clear', onclick: () => app.navigate('#/webhooks/events', 'filter-type') })),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (typeInput.value.trim()) q.set('type', typeInput.value.trim());
    if (modeSelect.value) q.set('mode', modeSelect.value);
    const s = q.toString();
    app.navigate('#/webhooks/events' + (s ? '?' + s : ''), 'filter-apply');
  });
  const body = h('div', { id: 'events-list' }, h('p', { class: 'muted', text: 'Loading…' }));
  clear(panel, filters, body);
  let events;
  let endpoints;
  try {
    [events, endpoints] = await Promise.all([
      call('GET', '/v1/events' + query({ type, sandbox, limit: 20 })),
      call('GET', '/v1/endpoints?limit=100'),
    ]);
  } catch (err) {
    if (!app.current(gen)) return;
    clear(body, h('p', { class: 'empty', text: 'The events could not be loaded.' }));
    app.fail(err);
    return;
  }
  const urls = new Map(endpoints.data.map((ep) => [ep.id, ep.url]));
  const rows = await eventRows(events.data, urls);
  if (!app.current(gen)) return;
  if (rows.length === 0) {
    clear(body, h('p', { class: 'empty', text: type || mode ? 'No events match these filters.' : 'No events yet. Events your backend sends with POST /v1/events show here, with where each was delivered.' }));
    return;
  }
  const tbody = h('tbody', {}, rows);
  let cursor = events.next_cursor;
  const more = h('button', {
    type: 'button', id: 'load-more', text: 'Load more', hidden: !cursor,
    onclick: async () => {
      more.disabled = true;
      try {
        const page = await call('GET', '/v1/events' + query({ type, sandbox, limit: 20, cursor }));
        const added = await eventRows(page.data, urls);
        tbody.append(...added);
        cursor = page.next_cursor;
        more.hidden = !cursor;
        if (added.length > 0) added[0].querySelector('code.id').focus();
      } catch (err) {
        app.fail(err);
      } finally {
        more.disabled = false;
      }
    },
  });
  clear(
    body,
    h('table', { class: 'data', id: 'events' },
      h('caption', { class: 'sr-only', text: 'Recent events' }),
      h('thead', {}, h('tr', {}, ['Time', 'Type', 'Mode', 'Event', 'Deliveries'].map((t) => h('th', { scope: 'col', text: t })))),
      tbody),
    h('div', { class: 'actions more' }, more),
  );
}

// eventRows draws one row per event, with where each was delivered.
async function eventRows(events, urls) {
  const detailed = await Promise.all(events.map((ev) => call('GET', '/v1/events/' + encodeURIComponent(ev.id)).catch(() => ev)));
  return detailed.map((ev) =>
    h('tr', { 'data-event': ev.id },
      cell('Time', time(ev.created_at)),
      cell('Type', h('code', { text: ev.type })),
      cell('Mode', modeBadge(ev.sandbox)),
      cell('Event', h('code', { class: 'id', text: ev.id, tabindex: '-1' })),
      cell('Deliveries', deliveriesSummary(ev.deliveries, urls))));
}

function deliveriesSummary(deliveries, urls) {
  if (!deliveries) return h('span', { class: 'muted', text: 'unknown' });
  if (deliveries.length === 0) return h('span', { class: 'muted', text: 'No endpoint subscribed' });
  return h('ul', { class: 'plain' },
    deliveries.map((d) =>
      h('li', {}, statusBadge(d.status, d.reason), ' ',
        urls.has(d.endpoint_id) ? h('a', { href: '#/endpoints/' + d.endpoint_id, text: urls.get(d.endpoint_id) }) : h('span', { class: 'muted', text: d.endpoint_id + ' (deleted)' }))));
}
