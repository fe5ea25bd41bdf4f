// clusters.js: the clusters page (GET /api/v1/clusters): every cluster
// gyre deploys to, with its server, API version, how many applications
// use it and whether gyre reaches it. It reloads every ten seconds.

import { APIError, get } from './api.js';
import { h } from './dom.js';

const RELOAD_MS = 10000;

// ClustersView lists the destination clusters.
export class ClustersView {
  mount(root) {
    document.title = 'Clusters · gyre';
    this.tbody = h('tbody');
    this.message = h('p', { class: 'empty', hidden: true });
    root.append(h('section', { class: 'page list-page', 'aria-labelledby': 'clusters-title' },
      h('div', { class: 'page-head' }, h('h1', { id: 'clusters-title', text: 'Clusters' })),
      h('p', { class: 'hint' },
        'Add one with ', h('code', { text: 'gyre cluster add NAME --kubeconfig FILE' }),
        ' or a Secret labelled ', h('code', { text: 'gyre.dev/secret-type: cluster' }), ' in gyre\'s namespace.'),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'apps clusters', 'data-testid': 'cluster-list' },
          h('caption', { class: 'visually-hidden', text: 'Clusters with their connection state' }),
          h('thead', {}, h('tr', {},
            ['Name', 'Server', 'Version', 'Applications', 'State'].map((t) => h('th', { scope: 'col', text: t })))),
          this.tbody)),
      this.message));
    this.load();
    this.timer = setInterval(() => this.load(), RELOAD_MS);
  }

  unmount() {
    clearInterval(this.timer);
  }

  async load() {
    try {
      const list = await get('/api/v1/clusters');
      const items = (list && list.items) || [];
      this.tbody.replaceChildren(...items.map(row));
      this.message.hidden = true;
    } catch (err) {
      if (err instanceof APIError && err.status === 401) return;
      this.message.hidden = false;
      this.message.className = 'empty error';
      this.message.textContent = `Could not load the clusters: ${err.message}`;
    }
  }
}

// row is one cluster: its state carries the reason in its tooltip.
function row(c) {
  const filter = `#/?search=${encodeURIComponent(c.name)}`;
  return h('tr', { 'data-testid': `cluster-row-${c.name}` },
    h('td', {}, h('span', { class: 'name', text: c.name }),
      c.namespaces && c.namespaces.length ? h('span', { class: 'hint', text: ` namespaces: ${c.namespaces.join(', ')}` }) : null),
    h('td', {}, h('code', { text: c.server })),
    h('td', { text: c.version || '—' }),
    h('td', { 'data-testid': 'cluster-apps' }, c.applications ? h('a', { href: filter, text: String(c.applications) }) : '0'),
    h('td', {}, h('span', {
      class: `badge cluster-state state-${(c.state || 'Unknown').toLowerCase()}`,
      'data-testid': 'cluster-state', 'data-state': c.state, title: c.message || '', text: c.state,
    })));
}
