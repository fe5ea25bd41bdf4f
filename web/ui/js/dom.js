// dom.js: building elements, status badges and icons, times, toasts and
// confirmation dialogs. Everything is built with the DOM API, never from
// HTML strings, so text from the cluster cannot inject markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h builds an HTML element. attrs: "class", "text", "on<event>" handlers,
// boolean properties (hidden, disabled, checked), anything else as an
// attribute; null and false attributes are left out. Children may be
// strings, nodes, arrays or null.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// s builds an SVG element, like h.
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'hidden' || k === 'disabled' || k === 'checked') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

// fill replaces el's children, with h's rules for children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// ---- icons -----------------------------------------------------------

// Each icon is a list of SVG shapes in a 16×16 box, drawn with the current
// text colour. Icons are decorative (aria-hidden): the text next to them
// says the same.
const ICONS = {
  heart: [['path', { d: 'M8 13.6S2 10.2 2 6a3 3 0 0 1 6-1.3A3 3 0 0 1 14 6c0 4.2-6 7.6-6 7.6z', fill: 'currentColor', stroke: 'none' }]],
  check: [['path', { d: 'M3 8.5l3.2 3L13 4.5' }]],
  checkCircle: [['circle', { cx: 8, cy: 8, r: 6.4 }], ['path', { d: 'M5.2 8.3l2 2 3.8-4' }]],
  xCircle: [['circle', { cx: 8, cy: 8, r: 6.4 }], ['path', { d: 'M5.7 5.7l4.6 4.6M10.3 5.7l-4.6 4.6' }]],
  cross: [['path', { d: 'M4 4l8 8M12 4l-8 8' }]],
  pause: [['path', { d: 'M6 4v8M10 4v8', 'stroke-width': 2.4 }]],
  warning: [['path', { d: 'M8 2.2l6.3 11.3H1.7z', 'stroke-linejoin': 'round' }], ['path', { d: 'M8 6.5v3.2M8 11.6v.1' }]],
  question: [['circle', { cx: 8, cy: 8, r: 6.4 }], ['path', { d: 'M6.3 6.3a1.8 1.8 0 1 1 2.5 1.6c-.5.3-.8.6-.8 1.2v.3M8 11.3v.1' }]],
  spinner: [['path', { d: 'M8 1.6a6.4 6.4 0 1 1-6.4 6.4' }]],
  upCircle: [['circle', { cx: 8, cy: 8, r: 6.4 }], ['path', { d: 'M8 11.2V5M5.5 7.4L8 5l2.5 2.4' }]],
  plus: [['path', { d: 'M8 3v10M3 8h10' }]],
  minus: [['path', { d: 'M3 8h10' }]],
  equal: [['path', { d: 'M3.5 6h9M3.5 10h9' }]],
  pencil: [['path', { d: 'M3 13l.8-3.2 6.8-6.8 2.4 2.4-6.8 6.8z', 'stroke-linejoin': 'round' }]],
  skip: [['path', { d: 'M3.5 4l4 4-4 4M8.5 4l4 4-4 4' }]],
  refresh: [['path', { d: 'M13 8a5 5 0 1 1-1.5-3.6' }], ['path', { d: 'M11.8 1.8v2.9H8.9' }]],
  sync: [['path', { d: 'M2.8 7a5.3 5.3 0 0 1 9.4-2.6M13.2 9a5.3 5.3 0 0 1-9.4 2.6' }], ['path', { d: 'M12.6 1.8v2.9H9.7M3.4 14.2v-2.9h2.9' }]],
  undo: [['path', { d: 'M3.5 6.5h6a3.5 3.5 0 0 1 0 7H6' }], ['path', { d: 'M6 3.5l-3 3 3 3' }]],
  play: [['path', { d: 'M5 3.5l7 4.5-7 4.5z', fill: 'currentColor', 'stroke-linejoin': 'round' }]],
  close: [['path', { d: 'M4 4l8 8M12 4l-8 8' }]],
  dot: [['circle', { cx: 8, cy: 8, r: 3.5, fill: 'currentColor', stroke: 'none' }]],
  ghost: [['circle', { cx: 8, cy: 8, r: 6.4, 'stroke-dasharray': '2.2 2' }]],
};

// icon returns an inline SVG icon by name.
export function icon(name, cls = '') {
  const shapes = ICONS[name] || ICONS.dot;
  return s('svg', {
    class: ('icon ' + cls).trim(), viewBox: '0 0 16 16', width: 16, height: 16,
    'aria-hidden': 'true', focusable: 'false', fill: 'none', stroke: 'currentColor',
    'stroke-width': 1.6, 'stroke-linecap': 'round',
  }, shapes.map(([tag, attrs]) => s(tag, attrs)));
}

// ---- status badges ----------------------------------------------------

const HEALTH_ICONS = {
  Healthy: 'heart', Progressing: 'spinner', Degraded: 'xCircle', Suspended: 'pause',
  Missing: 'ghost', Unknown: 'question',
};
const SYNC_ICONS = { Synced: 'checkCircle', OutOfSync: 'upCircle', Unknown: 'question' };
const PHASE_ICONS = {
  Running: 'spinner', Terminating: 'spinner', Succeeded: 'checkCircle', Failed: 'xCircle', Error: 'warning',
};
const ACTION_ICONS = {
  created: 'plus', configured: 'pencil', unchanged: 'equal', deleted: 'minus', pruned: 'minus',
  skipped: 'skip', failed: 'cross',
};

// The health statuses and sync statuses, in the order filters list them.
export const HEALTH_STATUSES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'];
export const SYNC_STATUSES = ['Synced', 'OutOfSync', 'Unknown'];

function badge(kind, value, iconName, testid, title) {
  const v = value || 'Unknown';
  const spin = iconName === 'spinner' ? 'spin' : '';
  return h('span', {
    class: `badge ${kind}-${v}`, 'data-testid': testid, 'data-status': v, title: title || null,
  }, icon(iconName, spin), h('span', { class: 'badge-text', text: label(v) }));
}

// label spells a status for people: "OutOfSync" → "Out of sync".
export function label(v) {
  return v === 'OutOfSync' ? 'Out of sync' : v;
}

// healthBadge shows a health status; message goes in the tooltip.
export function healthBadge(status, message) {
  return badge('health', status, HEALTH_ICONS[status] || 'question', 'health-badge', message);
}

// syncBadge shows a sync status.
export function syncBadge(status, title) {
  return badge('sync', status, SYNC_ICONS[status] || 'question', 'sync-badge', title);
}

// phaseBadge shows an operation (or hook) phase.
export function phaseBadge(phase, testid = 'phase-badge') {
  return badge('phase', phase, PHASE_ICONS[phase] || 'dot', testid);
}

// actionBadge shows what a sync did to one object.
export function actionBadge(action) {
  return h('span', { class: `action action-${action}` }, icon(ACTION_ICONS[action] || 'dot'), h('span', { text: action || '—' }));
}

// ---- kinds -------------------------------------------------------------

const KIND_ABBREV = {
  Application: 'app', Deployment: 'deploy', ReplicaSet: 'rs', Pod: 'pod', Service: 'svc',
  Endpoints: 'ep', EndpointSlice: 'ep', StatefulSet: 'sts', DaemonSet: 'ds', Job: 'job',
  CronJob: 'cj', ConfigMap: 'cm', Secret: 'secret', Ingress: 'ing', PersistentVolumeClaim: 'pvc',
  PersistentVolume: 'pv', ServiceAccount: 'sa', Role: 'role', RoleBinding: 'rb',
  ClusterRole: 'crole', ClusterRoleBinding: 'crb', Namespace: 'ns', HorizontalPodAutoscaler: 'hpa',
  PodDisruptionBudget: 'pdb', NetworkPolicy: 'netpol', CustomResourceDefinition: 'crd',
  ControllerRevision: 'rev', StorageClass: 'sc', IngressClass: 'ingc',
};
const KIND_GROUP = {
  Deployment: 'workload', ReplicaSet: 'workload', StatefulSet: 'workload', DaemonSet: 'workload',
  Job: 'workload', CronJob: 'workload', Pod: 'pod', Service: 'network', Endpoints: 'network',
  EndpointSlice: 'network', Ingress: 'network', NetworkPolicy: 'network', ConfigMap: 'config',
  Secret: 'config', PersistentVolumeClaim: 'storage', PersistentVolume: 'storage',
  Application: 'app',
};

// kindAbbrev returns the short name shown on a tree node: kubectl's short
// names where there is one, else the initials of the kind.
export function kindAbbrev(kind) {
  if (KIND_ABBREV[kind]) return KIND_ABBREV[kind];
  const initials = (kind.match(/[A-Z]/g) || []).join('').toLowerCase();
  return initials.length >= 2 ? initials.slice(0, 4) : kind.slice(0, 4).toLowerCase();
}

// kindClass returns the colour family of a kind.
export function kindClass(kind) {
  return 'kind-' + (KIND_GROUP[kind] || 'other');
}

// ---- times and revisions ----------------------------------------------

// shortSHA abbreviates a revision for people, as gyre's CLI does
// (app.ShortRevision): a commit SHA to 7 characters, a chart's
// "<version>@sha256:<hex>" to its version and 7 characters of the digest,
// and each of several sources' revisions ("a,b") alike.
export function shortSHA(rev) {
  if (!rev) return '';
  return String(rev).split(',').map((p) => {
    const at = p.indexOf('@');
    if (at >= 0) {
      const digest = p.slice(at + 1).replace(/^sha256:/, '');
      return p.slice(0, at + 1) + digest.slice(0, 7);
    }
    return p.length > 7 ? p.slice(0, 7) : p;
  }).join(',');
}

// chartVersion returns the version of a chart's revision
// ("1.2.0@sha256:…" → "1.2.0"), or '' for a commit or several sources'
// revisions.
export function chartVersion(rev) {
  if (!rev || rev.includes(',')) return '';
  const at = rev.indexOf('@');
  return at > 0 ? rev.slice(0, at) : '';
}

// revision shows a short revision with the full one in its tooltip.
export function revision(rev) {
  if (!rev) return h('span', { class: 'muted', text: '—' });
  return h('code', { class: 'revision', title: rev, 'data-revision': rev, text: shortSHA(rev) });
}

// revisionDetail shows a revision with a chart's version set apart: the
// version in bold, then the short digest; a commit as revision does.
export function revisionDetail(rev) {
  const version = chartVersion(rev);
  if (!version) return revision(rev);
  return h('span', { class: 'chart-revision', 'data-revision': rev },
    h('strong', { class: 'chart-version', 'data-testid': 'chart-version', text: version }), ' ',
    h('code', { class: 'revision', title: rev, text: shortSHA(rev).slice(version.length) }));
}

// relativeTime says how long ago (or in how long) iso is, e.g. "3m ago".
export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const secs = Math.round((now - t) / 1000);
  const abs = Math.abs(secs);
  let text;
  if (abs < 5) return 'just now';
  if (abs < 60) text = `${abs}s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)}m`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)}h`;
  else text = `${Math.floor(abs / 86400)}d`;
  return secs >= 0 ? `${text} ago` : `in ${text}`;
}

// timeAgo returns a <time> that relabels itself (see refreshTimes), with the
// exact local time in its tooltip.
export function timeAgo(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const d = new Date(iso);
  return h('time', {
    datetime: iso, 'data-relative': '', title: Number.isNaN(d.getTime()) ? iso : d.toLocaleString(),
    text: relativeTime(iso),
  });
}

// refreshTimes relabels every relative <time> in the document.
export function refreshTimes() {
  const now = Date.now();
  for (const t of document.querySelectorAll('time[data-relative]')) {
    t.textContent = relativeTime(t.getAttribute('datetime'), now);
  }
}

// ---- toasts --------------------------------------------------------------

// toast shows a short message for a few seconds; errors stay until closed
// and are announced at once.
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const close = () => el.remove();
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': `toast-${kind}` },
    icon(kind === 'error' ? 'warning' : 'checkCircle'),
    h('span', { class: 'toast-text', text: message }),
    h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Dismiss', onclick: close }, icon('close')));
  box.append(el);
  if (kind !== 'error') setTimeout(close, 5000);
}

// ---- dialogs -------------------------------------------------------------

// confirmDialog asks a question in a modal <dialog>. body is extra content
// (checkboxes); it resolves to true when the person confirms. The dialog
// closes with Escape, and focus returns to where it was.
export function confirmDialog({ title, body, confirmLabel, confirmTestid, testid, danger = false }) {
  return new Promise((resolve) => {
    const titleId = 'dialog-title-' + Math.random().toString(36).slice(2);
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'data-testid': testid },
      h('form', { method: 'dialog' },
        h('h2', { id: titleId, text: title }),
        body,
        h('div', { class: 'dialog-buttons' },
          h('button', { type: 'submit', value: 'cancel', class: 'button', 'data-testid': 'cancel', text: 'Cancel' }),
          h('button', {
            type: 'submit', value: 'ok', class: danger ? 'button danger' : 'button primary',
            'data-testid': confirmTestid, text: confirmLabel,
          }))));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector(`[data-testid="${confirmTestid}"]`).focus();
  });
}

// checkbox is a labelled checkbox for dialogs; hint explains it.
export function checkbox(name, text, hint, testid) {
  const id = 'cb-' + name + '-' + Math.random().toString(36).slice(2);
  return h('div', { class: 'checkbox' },
    h('input', { type: 'checkbox', id, name, 'data-testid': testid }),
    h('label', { for: id }, h('span', { text }), hint ? h('span', { class: 'hint', text: hint }) : null));
}
