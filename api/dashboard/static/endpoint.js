// An endpoint's page: its settings, recent deliveries with every attempt,
// Resend, Send test event, and links to each delivery's workflow in the
// Temporal Web UI.
import { call } from './api.js';
import { cell, clear, enabledBadge, eventTypes, h, modeBadge, statusBadge, time } from './dom.js';
import { disabledNote, endpointActions, showForm } from './webhooks.js';

export async function renderEndpoint(main, app, id, gen) {
  const path = '/v1/endpoints/' + encodeURIComponent(id);
  const ep = await call('GET', path);
  if (!app.current(gen)) return;
  const here = '#/endpoints/' + id;
  const formSlot = h('div', { id: 'form-slot' });
  const deliveries = h('section', { id: 'deliveries', 'aria-labelledby': 'deliveries-title' });
  const test = h('button', {
    type: 'button', class: 'primary', id: 'send-test', text: 'Send test event', disabled: !ep.enabled,
    onclick: async () => {
      test.disabled = true;
      try {
        const ev = await call('POST', path + '/test');
        app.say(`Sent test event ${ev.id} (webhook.test) to this endpoint alone.`);
        await loadDeliveries(deliveries, app, ep, gen);
      } catch (err) {
        app.fail(err);
      } finally {
        test.disabled = !ep.enabled;
      }
    },
  });
  const edit = () =>
    showForm(formSlot, app, ep, {
      done: (saved) => {
        if (saved) app.navigate(here, 'send-test');
        else {
          formSlot.replaceChildren();
          document.getElementById('edit-' + ep.id).focus();
        }
      },
    });
  const rows = [
    ['Description', ep.description || '—'],
    ['Event types', eventTypes(ep)],
    ['Endpoint ID', h('code', { text: ep.id })],
    ['Created', time(ep.created_at)],
  ];
  if (!ep.enabled && ep.disabled_at) rows.push(['Disabled', [time(ep.disabled_at), ep.disabled_reason ? ` (${ep.disabled_reason})` : '']]);
  if (ep.failing_since) rows.push(['Failing since', time(ep.failing_since)]);
  if (ep.last_error) rows.push(['Last error', ep.last_error]);
  const secretSlot = h('span', {}, h('button', {
    type: 'button', id: 'show-secret', class: 'linklike', text: 'Show signing secret',
    onclick: async () => {
      try {
        const s = await call('GET', path + '/secret');
        clear(secretSlot, h('code', { id: 'endpoint-secret', text: s.secret }));
      } catch (err) {
        app.fail(err);
      }
    },
  }));
  rows.push(['Signing secret', secretSlot]);
  clear(
    main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/webhooks/webhook', text: 'Webhooks' }), ' / Endpoint'),
    h('div', { class: 'page-head' },
      h('h1', { tabindex: '-1', class: 'url', text: ep.url }),
      h('p', { class: 'badges' }, modeBadge(ep.sandbox), ' ', enabledBadge(ep))),
    h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)])),
    h('div', { class: 'actions wrap-actions' }, test, endpointActions(app, ep, { edit, after: (focusID) => app.navigate(here, focusID) })),
    h('p', { class: 'note', text: ep.enabled ? disabledNote : 'This endpoint is disabled. ' + disabledNote }),
    formSlot,
    deliveries,
  );
  await loadDeliveries(deliveries, app, ep, gen);
  if (new URLSearchParams(location.hash.split('?')[1] || '').get('edit') === '1' && app.current(gen)) {
    history.replaceState(null, '', here);
    edit();
  }
}

// loadDeliveries draws the endpoint's recent deliveries, and draws them
// again while some are pending, unless the reader is working in the list.
async function loadDeliveries(section, app, ep, gen) {
  const list = await call('GET', `/v1/endpoints/${encodeURIComponent(ep.id)}/deliveries?limit=20`).catch((err) => {
    app.fail(err);
    return null;
  });
  if (!app.current(gen) || list === null) return;
  const types = new Map(
    await Promise.all(
      [...new Set(list.data.map((d) => d.event_id))].map((id) =>
        call('GET', '/v1/events/' + encodeURIComponent(id)).then((ev) => [id, ev.type], () => [id, '']),
      ),
    ),
  );
  if (!app.current(gen)) return;
  const refresh = h('button', { type: 'button', id: 'refresh', text: 'Refresh', onclick: () => loadDeliveries(section, app, ep, gen) });
  clear(
    section,
    h('div', { class: 'section-head' }, h('h2', { id: 'deliveries-title', text: 'Recent deliveries' }), refresh),
    list.data.length === 0
      ? h('p', { class: 'empty', text: 'No deliveries yet. Send test event to see one arrive, with every attempt.' })
      : h('ol', { class: 'deliveries' }, list.data.map((d) => h('li', {}, deliveryCard(app, ep, d, types.get(d.event_id), () => loadDeliveries(section, app, ep, gen))))),
  );
  if (list.data.some((d) => d.status === 'pending')) {
    setTimeout(() => {
      if (app.current(gen) && !section.contains(document.activeElement)) loadDeliveries(section, app, ep, gen);
    }, 1500);
  }
}

function deliveryCard(app, ep, d, type, reload) {
  const ui = app.config.temporal_ui_url;
  const actions = [];
  if (d.status === 'failed') {
    const resend = h('button', {
      type: 'button', class: 'resend', text: 'Resend', 'aria-label': 'Resend event ' + d.event_id,
      onclick: async () => {
        resend.disabled = true;
        try {
          const r = await call('POST', '/v1/events/' + encodeURIComponent(d.event_id) + '/resend', { endpoint_id: ep.id });
          app.say(`Resent event ${d.event_id}: new delivery ${r.deliveries.map((x) => x.id).join(', ')}.`);
          reload();
        } catch (err) {
          resend.disabled = false;
          app.fail(err);
        }
      },
    });
    actions.push(resend);
  }
  if (ui && d.workflow_id) {
    const ns = encodeURIComponent(app.config.temporal_namespace || 'default');
    actions.push(h('a', {
      class: 'button temporal', href: `${ui}/namespaces/${ns}/workflows/${encodeURIComponent(d.workflow_id)}`, target: '_blank', rel: 'noopener noreferrer',
      text: 'Open workflow in Temporal', 'aria-label': `Open the workflow of delivery ${d.id} in the Temporal Web UI (new tab)`,
    }));
  }
  const attempts = d.attempts || [];
  return h('article', { class: 'card delivery', 'data-delivery': d.id, 'data-status': d.status },
    h('header', {},
      h('div', {},
        statusBadge(d.status, d.reason), ' ',
        h('code', { text: type || 'event' }), ' ',
        h('span', { class: 'muted small' }, h('code', { text: d.event_id }), ' · ', time(d.created_at))),
      h('div', { class: 'row-actions' }, actions)),
    d.next_attempt_at && d.status === 'pending' ? h('p', { class: 'small muted' }, 'Next attempt at ', time(d.next_attempt_at)) : null,
    attempts.length === 0
      ? h('p', { class: 'small muted', text: 'No attempt yet.' })
      : h('table', { class: 'data attempts' },
        h('caption', { class: 'sr-only', text: 'Attempts of delivery ' + d.id }),
        h('thead', {}, h('tr', {}, ['#', 'Time', 'Status code', 'Duration', 'Error', 'Response body'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {},
          attempts.map((a) =>
            h('tr', {},
              cell('#', String(a.number)),
              cell('Time', time(a.started_at)),
              cell('Status code', a.status_code == null ? '—' : h('span', { class: a.status_code < 300 ? 'code ok' : 'code bad', text: String(a.status_code) })),
              cell('Duration', a.duration_ms == null ? 'in flight' : a.duration_ms + ' ms'),
              cell('Error', a.error ? [h('code', { text: a.error }), a.error_detail ? h('div', { class: 'small', text: a.error_detail }) : null] : '—'),
              cell('Response body', a.response_body ? h('pre', { class: 'body', text: a.response_body }) : h('span', { class: 'muted', text: '(empty)' })))))));
}
