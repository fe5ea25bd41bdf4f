// panel.js: the side panel of one tree node (or of the Application
// itself), with tabs for its live manifest, its diff against git and its
// events.

import { appPath, get, keyParams } from './api.js';
import { fill, h, healthBadge, icon, kindAbbrev, kindClass, syncBadge, timeAgo } from './dom.js';
import { keyString } from './tree.js';
import { toYAML } from './yaml.js';

const TABS = [
  { id: 'manifest', label: 'Live manifest' },
  { id: 'diff', label: 'Diff' },
  { id: 'events', label: 'Events' },
];

// Panel shows one node of application a. node is a TreeNode, or null for
// the Application. onClose is called when the person closes the panel;
// onSync(key) when they ask to sync just this object.
export class Panel {
  constructor(a, node, { onClose, onSync }) {
    this.a = a;
    this.node = node;
    this.onClose = onClose;
    this.onSync = onSync;
    this.tab = 'manifest';
    this.seq = 0;
    // The API has events for the objects of the tree only, not for the
    // Application itself.
    this.tabs = node ? TABS : TABS.filter((t) => t.id !== 'events');
    this.head = h('div', { class: 'panel-head' });
    this.tabButtons = this.tabs.map((t) => h('button', {
      type: 'button', role: 'tab', id: `panel-tab-${t.id}`, 'aria-controls': 'panel-content',
      'data-testid': `panel-tab-${t.id}`, text: t.label,
      onclick: () => this.show(t.id),
      onkeydown: (ev) => this.tabKey(ev),
    }));
    this.content = h('div', {
      id: 'panel-content', role: 'tabpanel', class: 'panel-content', 'data-testid': 'panel-content', tabindex: '0',
    });
    this.el = h('aside', {
      class: 'panel', 'data-testid': 'resource-panel', 'aria-label': 'Resource details',
      onkeydown: (ev) => {
        if (ev.key === 'Escape') this.onClose();
      },
    },
    this.head,
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Resource views' }, this.tabButtons,
      h('button', {
        type: 'button', class: 'icon-button reload', title: 'Reload this view', 'aria-label': 'Reload this view',
        'data-testid': 'panel-reload', onclick: () => this.show(this.tab),
      }, icon('refresh'))),
    this.content);
    this.drawHead();
    this.show('manifest');
  }

  // key is the node's resource key; the Application's own for null.
  key() {
    if (this.node) return this.node.key;
    return { group: 'gyre.dev', kind: 'Application', namespace: this.a.metadata.namespace, name: this.a.metadata.name };
  }

  // update takes a newer Application and node from a live update and
  // redraws the header; the open tab reloads when the sync status changed,
  // since its diff may have.
  update(a, node) {
    const before = this.node ? this.node.sync : this.a.status && this.a.status.sync && this.a.status.sync.status;
    this.a = a;
    this.node = node;
    this.drawHead();
    const after = node ? node.sync : a.status && a.status.sync && a.status.sync.status;
    if (before !== after && this.tab === 'diff') this.show('diff');
  }

  drawHead() {
    const k = this.key();
    const n = this.node;
    const health = n ? n.health : this.a.status && this.a.status.health;
    const sync = n ? n.sync : this.a.status && this.a.status.sync && this.a.status.sync.status;
    const facts = [];
    if (k.namespace) facts.push(['Namespace', k.namespace]);
    if (k.group) facts.push(['API group', k.group]);
    for (const i of (n && n.info) || []) facts.push([i.name, i.value]);
    if (n && n.images && n.images.length) facts.push(['Images', n.images.join(', ')]);
    if (n && n.createdAt) facts.push(['Created', timeAgo(n.createdAt)]);
    if (n && !n.uid) facts.push(['Live object', 'none: git declares it, the cluster does not have it']);
    fill(this.head,
      h('div', { class: 'panel-title' },
        h('span', { class: `kind ${kindClass(k.kind)}`, 'aria-hidden': 'true', text: kindAbbrev(k.kind) }),
        h('h2', { 'data-testid': 'panel-title' }, h('span', { class: 'muted', text: k.kind + ' ' }), k.name),
        h('button', {
          type: 'button', class: 'icon-button', 'aria-label': 'Close details', 'data-testid': 'panel-close',
          onclick: () => this.onClose(),
        }, icon('close'))),
      h('div', { class: 'panel-badges' },
        health ? healthBadge(health.status, health.message) : null,
        sync ? syncBadge(sync) : null,
        n && n.sync ? h('button', {
          type: 'button', class: 'button small', 'data-testid': 'sync-resource-button',
          onclick: () => this.onSync(n.key),
        }, icon('sync'), 'Sync this object') : null),
      health && health.message ? h('p', { class: 'health-message', text: health.message }) : null,
      facts.length ? h('dl', { class: 'facts compact' },
        facts.map(([dt, dd]) => [h('dt', { text: dt }), h('dd', {}, dd)])) : null);
  }

  tabKey(ev) {
    const i = this.tabs.findIndex((t) => t.id === this.tab);
    let j = -1;
    if (ev.key === 'ArrowRight') j = (i + 1) % this.tabs.length;
    else if (ev.key === 'ArrowLeft') j = (i + this.tabs.length - 1) % this.tabs.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = this.tabs.length - 1;
    if (j < 0) return;
    ev.preventDefault();
    this.show(this.tabs[j].id);
    this.tabButtons[j].focus();
  }

  async show(tab) {
    this.tab = tab;
    this.tabButtons.forEach((b, i) => {
      const on = this.tabs[i].id === tab;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
    this.content.setAttribute('aria-labelledby', `panel-tab-${tab}`);
    this.content.dataset.tab = tab;
    this.content.setAttribute('aria-busy', 'true');
    this.content.replaceChildren(h('p', { class: 'muted', text: 'Loading…' }));
    const seq = ++this.seq;
    let body;
    try {
      body = await this[tab]();
    } catch (err) {
      body = h('p', { class: 'error', role: 'alert', text: err.status === 404 ? 'Not found in the cluster.' : err.message });
    }
    if (seq !== this.seq) return;
    this.content.replaceChildren(body);
    this.content.removeAttribute('aria-busy');
  }

  async manifest() {
    let obj;
    if (!this.node) {
      obj = this.a;
    } else if (!this.node.uid) {
      return h('p', { class: 'muted', text: 'Not in the cluster yet: a sync creates it. The Diff tab shows what git declares.' });
    } else {
      const { namespace, name } = this.a.metadata;
      obj = await get(appPath(namespace, name, '/resource'), keyParams(this.node.key, this.node.version));
    }
    const shown = structuredClone(obj);
    if (shown && shown.metadata) delete shown.metadata.managedFields;
    return h('pre', { class: 'code manifest', 'data-testid': 'manifest' }, toYAML(shown));
  }

  async diff() {
    const { namespace, name } = this.a.metadata;
    const res = await get(appPath(namespace, name, '/diff'));
    const items = (res && res.items) || [];
    if (this.node) {
      if (!this.node.sync) {
        return h('p', { class: 'muted', text: 'Not declared in git: the cluster made this object, so there is nothing to compare.' });
      }
      const want = keyString(this.node.key);
      const item = items.find((i) => keyString(i.key) === want);
      if (!item) return h('p', { class: 'muted', text: 'No comparison for this object yet.' });
      return diffItem(item, false);
    }
    const changed = items.filter((i) => i.status !== 'InSync');
    if (!changed.length) return h('p', { class: 'in-sync', 'data-testid': 'no-diff' }, icon('checkCircle'), ' Every object matches git.');
    return h('div', {}, changed.map((i) => diffItem(i, true)));
  }

  async events() {
    const { namespace, name } = this.a.metadata;
    const res = await get(appPath(namespace, name, '/events'), keyParams(this.key()));
    const items = (res && res.items) || [];
    if (!items.length) return h('p', { class: 'muted', 'data-testid': 'no-events', text: 'No events (the cluster keeps them for an hour).' });
    return h('table', { class: 'events', 'data-testid': 'events' },
      h('thead', {}, h('tr', {}, ['Type', 'Reason', 'Message', 'Count', 'Last seen'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, items.map((e) => h('tr', { class: e.type === 'Warning' ? 'warning' : '' },
        h('td', {}, e.type === 'Warning' ? icon('warning') : null, ' ', e.type || ''),
        h('td', { text: e.reason || '' }),
        h('td', { class: 'message', text: e.message || '' }),
        h('td', { class: 'num', text: e.count || 1 }),
        h('td', {}, timeAgo(e.lastTimestamp))))));
  }
}

const DIFF_STATUS = {
  InSync: 'The live object matches git.',
  OutOfSync: 'The live object differs from git; a sync applies the changes below.',
  Missing: 'Git declares it and the cluster does not have it; a sync creates it.',
  Extraneous: 'Git no longer declares it; a sync with prune deletes it.',
  Unknown: 'The comparison could not be made.',
};

// diffItem shows one diff.Result: what its status means and the unified
// diff, coloured, with the +/- markers kept so it reads without colour.
function diffItem(item, withTitle) {
  const k = item.key;
  return h('section', { class: 'diff-item', 'data-testid': 'diff-item', 'data-status': item.status },
    withTitle ? h('h3', {}, h('span', { class: 'muted', text: k.kind + ' ' }), (k.namespace ? k.namespace + '/' : '') + k.name) : null,
    h('p', { class: `diff-status diff-${item.status}`, text: DIFF_STATUS[item.status] || item.status }),
    item.message ? h('p', { class: 'muted', text: item.message }) : null,
    item.diff ? diffText(item.diff) : null);
}

function diffText(text) {
  return h('pre', { class: 'code diff', 'data-testid': 'diff' }, text.replace(/\n$/, '').split('\n').map((line) => {
    let cls = 'ctx';
    if (line.startsWith('+++') || line.startsWith('---')) cls = 'file';
    else if (line.startsWith('+')) cls = 'add';
    else if (line.startsWith('-')) cls = 'del';
    else if (line.startsWith('@@')) cls = 'hunk';
    return h('span', { class: `line ${cls}` }, line || ' '); // block spans: copying gives one newline each
  }));
}
