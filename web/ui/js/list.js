// list.js: the application list. The server filters and pages
// (GET /api/v1/applications); the stream keeps the rows current.

import { APIError, get, query } from './api.js';
import {
  HEALTH_STATUSES, SYNC_STATUSES, h, healthBadge, label, phaseBadge, revision, syncBadge, timeAgo,
} from './dom.js';

const PAGE_SIZE = 100;

// ListView shows the applications. params are the hash's query
// parameters: sync, health and search.
export class ListView {
  constructor(stream, params) {
    this.stream = stream;
    this.filter = {
      sync: params.get('sync') || '', health: params.get('health') || '', search: params.get('search') || '',
    };
    this.items = [];
    this.rows = new Map(); // "namespace/name" → <tr>
    this.continueToken = '';
    this.total = 0;
    this.seq = 0;
    this.cleanup = [];
  }

  mount(root) {
    document.title = 'Applications · gyre';
    this.search = h('input', {
      id: 'filter-search', type: 'search', value: this.filter.search, placeholder: 'Name, namespace, repository, path or chart',
      'data-testid': 'filter-search', autocomplete: 'off',
      oninput: () => {
        clearTimeout(this.searchTimer);
        this.searchTimer = setTimeout(() => this.setFilter('search', this.search.value.trim()), 250);
      },
    });
    this.count = h('p', { class: 'count', 'data-testid': 'app-count', 'aria-live': 'polite' });
    this.tbody = h('tbody');
    this.more = h('button', {
      type: 'button', class: 'button', hidden: true, 'data-testid': 'load-more', text: 'Load more',
      onclick: () => this.load(true),
    });
    this.empty = h('p', { class: 'empty', hidden: true });
    root.append(h('section', { class: 'page list-page', 'aria-labelledby': 'list-title' },
      h('div', { class: 'page-head' },
        h('h1', { id: 'list-title', text: 'Applications' }),
        this.count),
      h('div', { class: 'toolbar', role: 'search' },
        h('div', { class: 'field grow' }, h('label', { for: 'filter-search', text: 'Search' }), this.search),
        this.select('sync', 'Sync', SYNC_STATUSES),
        this.select('health', 'Health', HEALTH_STATUSES)),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'apps', 'data-testid': 'app-list' },
          h('caption', { class: 'visually-hidden', text: 'Applications with their sync and health status' }),
          h('thead', {}, h('tr', {},
            ['Name', 'Health', 'Sync', 'Revision', 'Last sync', 'Source'].map((t) => h('th', { scope: 'col', text: t })))),
          this.tbody)),
      this.empty,
      h('div', { class: 'more' }, this.more)));
    this.cleanup.push(this.stream.on(this.stream.listeners, (s) => this.update(s)));
    this.cleanup.push(this.stream.on(this.stream.reconnectListeners, () => this.load(false)));
    this.load(false);
  }

  unmount() {
    this.cleanup.forEach((fn) => fn());
    clearTimeout(this.searchTimer);
    clearTimeout(this.reloadTimer);
  }

  select(name, text, values) {
    const id = `filter-${name}`;
    const sel = h('select', {
      id, 'data-testid': id, onchange: () => this.setFilter(name, sel.value),
    }, h('option', { value: '', text: 'All' }), values.map((v) => h('option', { value: v, text: label(v) })));
    sel.value = this.filter[name];
    return h('div', { class: 'field' }, h('label', { for: id, text }), sel);
  }

  setFilter(name, value) {
    if (this.filter[name] === value) return;
    this.filter[name] = value;
    // Keep the filter in the address so it survives a reload and can be
    // shared; replaceState does not fire hashchange.
    history.replaceState(null, '', '#/' + query(this.filter));
    this.load(false);
  }

  async load(more) {
    const seq = ++this.seq;
    try {
      const page = await get('/api/v1/applications', {
        ...this.filter, limit: PAGE_SIZE, continue: more ? this.continueToken : '',
      });
      if (seq !== this.seq) return; // a newer request is on its way
      const items = (page && page.items) || [];
      if (!more) {
        this.items = [];
        this.rows.clear();
        this.tbody.replaceChildren();
      }
      for (const item of items) this.add(item);
      this.continueToken = (page && page.continue) || '';
      this.total = (page && page.total) || this.items.length;
      this.showCount();
    } catch (err) {
      if (seq !== this.seq || (err instanceof APIError && err.status === 401)) return;
      this.empty.hidden = false;
      this.empty.className = 'empty error';
      this.empty.textContent = `Could not load the applications: ${err.message}`;
    }
  }

  add(item) {
    const key = `${item.namespace}/${item.name}`;
    const tr = row(item);
    this.items.push(item);
    this.rows.set(key, tr);
    this.tbody.append(tr);
  }

  showCount() {
    const n = this.items.length;
    this.count.textContent = n === this.total
      ? `${n} application${n === 1 ? '' : 's'}`
      : `Showing ${n} of ${this.total} applications`;
    this.more.hidden = !this.continueToken;
    const filtered = this.filter.sync || this.filter.health || this.filter.search;
    this.empty.hidden = n > 0;
    this.empty.className = 'empty';
    this.empty.textContent = filtered
      ? 'No application matches these filters.'
      : 'No applications yet. Create one with kubectl apply -f app.yaml (kind: Application, apiVersion: gyre.dev/v1alpha1).';
  }

  // update applies one AppSummary from the stream: a row on screen is
  // redrawn; an application not on screen that matches the filters makes
  // the list reload (soon, once for a burst of events) unless the list is
  // paged, where it would not be in order anyway.
  update(summary) {
    const key = `${summary.namespace}/${summary.name}`;
    const old = this.rows.get(key);
    if (old && summary.deleted) {
      old.remove();
      this.rows.delete(key);
      this.items = this.items.filter((i) => `${i.namespace}/${i.name}` !== key);
      this.total = Math.max(0, this.total - 1);
      this.showCount();
      return;
    }
    if (summary.deleted) return;
    if (old) {
      const tr = row(summary);
      old.replaceWith(tr);
      this.rows.set(key, tr);
      this.items[this.items.findIndex((i) => `${i.namespace}/${i.name}` === key)] = summary;
      return;
    }
    if (!this.continueToken && this.matches(summary)) {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => this.load(false), 500);
    }
  }

  matches(a) {
    const f = this.filter;
    if (f.sync && a.syncStatus !== f.sync) return false;
    if (f.health && a.healthStatus !== f.health) return false;
    if (f.search) {
      const q = f.search.toLowerCase();
      return [a.name, a.namespace, ...summarySources(a).flatMap((src) => [src.repoURL, src.path, src.chart, src.targetRevision])]
        .some((v) => (v || '').toLowerCase().includes(q));
    }
    return true;
  }
}

// row draws one application.
function row(a) {
  const href = `#/apps/${encodeURIComponent(a.namespace)}/${encodeURIComponent(a.name)}`;
  const running = a.operationPhase === 'Running' || a.operationPhase === 'Terminating';
  return h('tr', {
    'data-testid': `app-row-${a.namespace}-${a.name}`, 'data-namespace': a.namespace, 'data-name': a.name,
    class: `health-row-${a.healthStatus || 'Unknown'}`,
  },
  h('th', { scope: 'row' },
    h('a', { href, class: 'app-link' }, h('span', { class: 'ns', text: a.namespace + '/' }), h('span', { text: a.name })),
    a.suspended ? h('span', { class: 'tag warn', title: 'Automated sync is suspended after a rollback', text: 'suspended' }) : null,
    a.waiting ? h('span', { class: 'tag warn', 'data-testid': 'waiting-badge', title: (a.waitingFor || []).length ? 'Syncs wait for ' + a.waitingFor.join(', ') : 'Syncs wait: a dependency is missing or in a cycle', text: 'waiting' }) : null,
    !a.automated ? h('span', { class: 'tag', title: 'Synced by hand (no automated sync policy)', text: 'manual' }) : null),
  h('td', {}, healthBadge(a.healthStatus, a.healthMessage)),
  h('td', {}, syncBadge(a.syncStatus), running ? [' ', phaseBadge(a.operationPhase)] : null),
  h('td', {}, revision(a.revision)),
  h('td', {}, timeAgo(a.lastSyncedAt)),
  sourceCell(a));
}

// sourceCell shows where an application's manifests come from: the
// repository and path, the chart for a chart, or how many sources there
// are (each listed in the tooltip) for several.
function sourceCell(a) {
  const sources = summarySources(a);
  if (sources.length > 1) {
    const list = sources.map(sourceText).join('\n');
    return h('td', { class: 'source', 'data-testid': 'app-source', 'data-sources': sources.length },
      h('span', { class: 'repo', title: list, text: `${sources.length} sources` }),
      h('span', { class: 'visually-hidden', text: `: ${sources.map(sourceText).join('; ')}` }));
  }
  const src = sources[0];
  if (isChart(src)) {
    return h('td', { class: 'source', 'data-testid': 'app-source', 'data-chart': chartName(src) },
      h('span', { class: 'repo', title: sourceText(src), text: chartName(src) }),
      h('span', { class: 'muted', text: ` ${src.targetRevision || 'latest'}` }));
  }
  return h('td', { class: 'source', 'data-testid': 'app-source' },
    h('span', { class: 'repo', title: src.repoURL, text: repoName(src.repoURL) }),
    src.path ? h('span', { class: 'muted', text: ` ${src.path}` }) : null,
    src.targetRevision ? h('span', { class: 'muted', text: ` @ ${src.targetRevision}` }) : null);
}

// summarySources returns the sources of an AppSummary; a server that does
// not list them gives the first one's fields only.
function summarySources(a) {
  if (a.sources && a.sources.length) return a.sources;
  return [{ repoURL: a.repoURL, path: a.path, chart: a.chart, targetRevision: a.targetRevision }];
}

// isChart reports whether a source is a chart in a Helm repository or OCI
// registry rather than a path in git, as app.Source.IsChart does.
export function isChart(src) {
  return Boolean(src && (src.chart || /^oci:\/\//i.test(src.repoURL || '')));
}

// chartName returns a chart source's chart: Chart, or the last element of
// an oci:// URL that names the chart itself.
export function chartName(src) {
  if (src.chart) return src.chart;
  const parts = (src.repoURL || '').split('/').filter(Boolean);
  return parts[parts.length - 1] || '';
}

// sourceText describes a source in one line: "demo 1.* from
// https://charts.example.com", or "org/repo guestbook @ main (ref values)".
export function sourceText(src) {
  const ref = src.ref ? ` (ref ${src.ref})` : '';
  if (isChart(src)) return `${chartName(src)} ${src.targetRevision || 'latest'} from ${src.repoURL}${ref}`;
  return `${repoName(src.repoURL)}${src.path ? ' ' + src.path : ''} @ ${src.targetRevision || 'HEAD'}${ref}`;
}

// repoName shortens a repository URL to its last two path parts.
export function repoName(url) {
  if (!url) return '';
  const parts = url.replace(/\.git$/, '').split(/[/:]/).filter(Boolean);
  return parts.slice(-2).join('/');
}
