// app.js: one application's page: its state and actions (sync, refresh,
// resume), the current or last operation with its change set, the resource
// tree with a side panel, and the history with rollback.

import { APIError, appPath, get, request } from './api.js';
import {
  actionBadge, checkbox, confirmDialog, fill, h, healthBadge, icon, phaseBadge, revision, revisionDetail, shortSHA,
  syncBadge, timeAgo, toast,
} from './dom.js';
import { chartName, isChart, repoName, sourceText } from './list.js';
import { Panel } from './panel.js';
import { keyString, renderTree } from './tree.js';

// AppView shows the application namespace/name.
export class AppView {
  constructor(stream, namespace, name) {
    this.stream = stream;
    this.namespace = namespace;
    this.name = name;
    this.a = null;
    this.nodes = [];
    this.selected = null; // keyString of the selected node, "application", or null
    this.panel = null;
    this.cleanup = [];
    this.loading = false;
    this.again = false;
  }

  mount(root) {
    document.title = `${this.name} · gyre`;
    this.root = root;
    this.syncButton = h('button', {
      type: 'button', class: 'button primary', 'data-testid': 'sync-button', onclick: () => this.sync([]),
    }, icon('sync'), 'Sync');
    this.refreshButton = h('button', {
      type: 'button', class: 'button', 'data-testid': 'refresh-button', onclick: () => this.refresh(),
      title: 'Compare git with the cluster again now',
    }, icon('refresh'), 'Refresh');
    this.titleBadges = h('div', { class: 'title-badges' });
    this.facts = h('dl', { class: 'facts', 'data-testid': 'app-facts' });
    this.notices = h('div', { class: 'notices' });
    this.operation = h('section', { class: 'card operation', 'data-testid': 'operation', 'aria-labelledby': 'op-title', hidden: true });
    this.treeSummary = h('p', { class: 'muted tree-summary', 'data-testid': 'resources-summary' });
    this.treeBox = h('div', { class: 'tree-box' });
    this.history = h('section', { class: 'card history', 'aria-labelledby': 'history-title' });
    this.panelBox = h('div', { class: 'panel-box' });
    this.page = h('div', { class: 'page app-page' },
      h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
        h('a', { href: '#/', text: 'Applications' }), ' / ',
        h('span', { text: this.namespace }), ' / ',
        h('span', { 'aria-current': 'page', text: this.name })),
      h('header', { class: 'app-header', 'data-testid': 'app-header' },
        h('div', { class: 'title-row' },
          h('h1', { 'data-testid': 'app-name', text: this.name }),
          this.titleBadges,
          h('div', { class: 'actions' }, this.syncButton, this.refreshButton)),
        this.facts),
      this.notices,
      this.operation,
      h('section', { class: 'card resources', 'aria-labelledby': 'tree-title' },
        h('div', { class: 'section-head' }, h('h2', { id: 'tree-title', text: 'Resources' }), this.treeSummary),
        this.treeBox),
      this.history);
    this.container = h('div', { class: 'with-panel' }, this.page, this.panelBox);
    root.append(this.container);
    this.cleanup.push(this.stream.on(this.stream.listeners, (s) => {
      if (s.namespace === this.namespace && s.name === this.name) this.load();
    }));
    this.cleanup.push(this.stream.on(this.stream.reconnectListeners, () => this.load()));
    this.load();
  }

  unmount() {
    this.cleanup.forEach((fn) => fn());
    clearTimeout(this.pollTimer);
    this.unmounted = true;
  }

  // load fetches the application and its tree and redraws. Calls that come
  // while a load runs (a burst of stream events) make one more load after it.
  async load() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const [a, tree] = await Promise.all([
        get(appPath(this.namespace, this.name)),
        get(appPath(this.namespace, this.name, '/tree')).catch((err) => ({ error: err })),
      ]);
      const fullResult = await this.fullResult(a);
      if (this.unmounted) return;
      this.a = a;
      this.result = fullResult;
      this.treeError = tree.error || null;
      this.nodes = (tree && tree.nodes) || [];
      this.draw();
    } catch (err) {
      if (!this.unmounted && !(err instanceof APIError && err.status === 401)) this.fail(err);
    } finally {
      this.loading = false;
      if (this.again && !this.unmounted) {
        this.again = false;
        this.load();
      }
    }
    this.pollWhileRunning();
  }

  // fullResult returns the complete change set of a's operation from the
  // API when the status lists only part of it (see syncResult.summary), or
  // null. A fetched one is reused while the operation's state is the same.
  async fullResult(a) {
    const op = a.status && a.status.operationState;
    const cs = op && op.syncResult;
    if (!cs || !cs.summary || !cs.summary.truncated) return null;
    const key = `${op.startedAt}|${op.phase}|${cs.summary.total}`;
    if (this.resultKey === key) return this.resultCache;
    try {
      const res = await get(appPath(this.namespace, this.name, '/operation'));
      const full = res && res.operationState;
      if (!full || full.startedAt !== op.startedAt || !full.syncResult) return null;
      this.resultKey = key;
      this.resultCache = full.syncResult;
      return full.syncResult;
    } catch {
      return null; // the status's part is shown, and says it is a part
    }
  }

  // pollWhileRunning reloads every two seconds while an operation runs and
  // the stream is down, so progress shows either way.
  pollWhileRunning() {
    clearTimeout(this.pollTimer);
    const op = this.a && this.a.status && this.a.status.operationState;
    if (!this.unmounted && op && op.phase === 'Running' && this.stream.state !== 'open') {
      this.pollTimer = setTimeout(() => this.load(), 2000);
    }
  }

  fail(err) {
    const text = err.status === 404
      ? `There is no application ${this.namespace}/${this.name}.`
      : `Could not load ${this.namespace}/${this.name}: ${err.message}`;
    this.root.replaceChildren(h('div', { class: 'page' },
      h('p', { class: 'error', role: 'alert', 'data-testid': 'app-error', text }),
      h('p', {}, h('a', { href: '#/', text: 'Back to the applications' }))));
  }

  draw() {
    if (!this.container.isConnected) this.root.replaceChildren(this.container); // back after an error
    const a = this.a;
    const st = a.status || {};
    fill(this.titleBadges,
      healthBadge(st.health && st.health.status, st.health && st.health.message),
      syncBadge(st.sync && st.sync.status));
    const running = st.operationState && st.operationState.phase === 'Running';
    this.syncButton.disabled = Boolean(running);
    this.syncButton.title = running ? 'An operation is running' : 'Apply git to the cluster now';
    this.drawFacts();
    this.drawNotices();
    this.drawOperation();
    this.drawTree();
    this.drawHistory();
    this.drawPanel();
  }

  drawFacts() {
    const a = this.a;
    const sources = specSources(a.spec);
    const dst = (a.spec && a.spec.destination) || {};
    const st = a.status || {};
    const op = st.operationState;
    const hist = st.history || [];
    const lastSync = (op && op.finishedAt) || (hist.length ? hist[hist.length - 1].deployedAt : '');
    const type = st.sourceType ? h('span', { class: 'muted', text: ` (${st.sourceType})` }) : null;
    let where;
    if (sources.length > 1) {
      // One line per source, with the revision the last comparison used.
      const revs = (st.sync && st.sync.revisions) || [];
      where = ['Sources', h('ol', { class: 'source-list' }, sources.map((src, i) => h('li', {
        'data-testid': `fact-source-${i}`, 'data-revision': revs[i] || '',
      }, sourceLine(src), ' ', revisionDetail(revs[i])))), 'fact-sources'];
    } else if (isChart(sources[0])) {
      where = ['Chart', [sourceLine(sources[0]), type], 'fact-chart'];
    } else {
      where = ['Target', [sourceLine(sources[0]), type], 'fact-target'];
    }
    const facts = [
      ['Project', (a.spec && a.spec.project) || 'default', 'fact-project'],
      ['Revision', revisionDetail(st.sync && st.sync.revision), 'fact-revision'],
      where,
      ['Destination', `${dst.namespace || '—'} on ${dst.name || (dst.server && dst.server !== 'https://kubernetes.default.svc' ? dst.server : 'in-cluster')}`, 'fact-destination'],
      ['Automation', automation(a), 'fact-automation'],
      ['Last sync', timeAgo(lastSync), 'fact-last-sync'],
      ['Compared', timeAgo(st.reconciledAt), 'fact-reconciled'],
    ];
    this.facts.replaceChildren(...facts.flatMap(([dt, dd, id]) => [h('dt', { text: dt }), h('dd', { 'data-testid': id }, dd)]));
  }

  drawNotices() {
    const st = this.a.status || {};
    const out = [];
    const s = st.automationSuspended;
    if (s) {
      out.push(h('div', { class: 'banner warn', role: 'status', 'data-testid': 'suspended-banner' },
        icon('pause'),
        h('div', { class: 'banner-text' },
          h('strong', { text: 'Automation suspended after rollback' }),
          s.reason ? `: ${s.reason.replace(/\.$/, '')}.` : '.',
          s.revision ? [' Held at ', revision(s.revision)] : null,
          s.since ? [' since ', timeAgo(s.since)] : null,
          s.initiatedBy && s.initiatedBy.username ? ` by ${s.initiatedBy.username}` : null,
          s.revision || s.since ? '.' : null,
          ' Automated sync stays off until you resume it.'),
        h('button', { type: 'button', class: 'button', 'data-testid': 'resume-button', onclick: () => this.resume() },
          icon('play'), 'Resume automation')));
    }
    if (st.health && st.health.message && st.health.status !== 'Healthy') {
      out.push(h('p', { class: `banner health-note health-${st.health.status}` }, icon('warning'), h('span', { text: st.health.message })));
    }
    for (const c of st.conditions || []) {
      if (c.type === 'AutomationSuspended' && s) continue; // the banner says it
      out.push(h('p', { class: 'banner condition', 'data-testid': 'condition', 'data-type': c.type },
        icon('warning'), h('span', {}, h('strong', { text: `${c.type}: ` }), c.message || '')));
    }
    this.notices.replaceChildren(...out);
  }

  drawOperation() {
    const op = this.a.status && this.a.status.operationState;
    this.operation.hidden = !op;
    if (!op) return;
    const o = op.operation || {};
    let what = 'Operation';
    if (o.sync) {
      what = o.sync.dryRun ? 'Dry-run sync' : 'Sync';
      if (o.sync.resources && o.sync.resources.length) what += ` of ${o.sync.resources.length} object${o.sync.resources.length === 1 ? '' : 's'}`;
      if (o.sync.prune) what += ' with prune';
    } else if (o.rollback) {
      what = `Rollback to #${o.rollback.id}${o.rollback.dryRun ? ' (dry run)' : ''}`;
    }
    const by = o.initiatedBy || {};
    const who = by.automated ? 'automatically' : by.username ? `by ${by.username}` : '';
    const phase = phaseBadge(op.phase, 'operation-phase');
    phase.dataset.startedAt = op.startedAt || '';
    phase.dataset.finishedAt = op.finishedAt || '';
    const result = this.result || op.syncResult;
    const changes = (result && result.resources) || [];
    const summary = result && result.summary;
    const total = summary ? summary.total : changes.length;
    const partial = Boolean(summary && summary.truncated);
    const running = op.phase === 'Running' || op.phase === 'Terminating';
    const table = changes.length ? h('table', { class: 'changes', 'data-testid': 'change-set' },
      h('caption', {
        class: result.dryRun ? 'dry-run' : 'visually-hidden',
        text: result.dryRun ? 'Dry run: nothing was changed; the actions say what a sync would do.' : 'What the operation did, object by object',
      }),
      h('thead', {}, h('tr', {}, ['Kind', 'Name', 'Action', 'Phase / wave', 'Hook', 'Message'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, changes.map((c) => h('tr', {
        'data-testid': 'change-row', 'data-kind': c.kind, 'data-name': c.name, 'data-action': c.action,
        class: c.action === 'failed' ? 'failed' : '',
      },
      h('td', { text: c.kind }),
      h('td', { text: (c.namespace ? c.namespace + '/' : '') + c.name }),
      h('td', {}, actionBadge(c.action)),
      h('td', { text: `${c.syncPhase || 'Sync'} / ${c.wave || 0}` }),
      h('td', {}, c.hookType ? [c.hookType, c.hookPhase ? ' ' : '', c.hookPhase ? phaseBadge(c.hookPhase) : ''] : '—'),
      h('td', { class: 'message', text: c.message || '' }))))) : null;
    const counts = summary && summary.actions ? countActions(summary.actions) : changes.length ? countActions(tally(changes)) : '';
    fill(this.operation,
      h('div', { class: 'section-head' },
        h('h2', { id: 'op-title', text: running ? `${what} in progress` : `Last operation: ${what}` }),
        phase),
      h('p', { class: 'op-meta' },
        'Started ', timeAgo(op.startedAt), who ? ` ${who}` : '',
        op.finishedAt ? [', finished ', timeAgo(op.finishedAt), duration(op.startedAt, op.finishedAt)] : '',
        op.retryCount ? `, retried ${op.retryCount}×` : '',
        result && result.revision ? [', revision ', revision(result.revision)] : '',
        counts ? `. ${counts}.` : '.'),
      op.message ? h('p', { class: `op-message op-${op.phase}`, 'data-testid': 'operation-message', text: op.message }) : null,
      table ? h('details', { class: 'changes-box', open: running || op.phase !== 'Succeeded' || changes.length <= 12 ? '' : null },
        h('summary', { text: `Change set (${total} object${total === 1 ? '' : 's'})` }),
        partial ? h('p', {
          class: 'muted', 'data-testid': 'change-set-partial',
          text: `Listing ${changes.length} of ${total} objects, failures first: gyre no longer holds the complete change set `
            + '(it restarted, or another replica ran the operation).',
        }) : null,
        h('div', { class: 'table-wrap' }, table)) : null);
  }

  drawTree() {
    const scroll = this.treeBox.querySelector('.tree-scroll');
    const pos = scroll ? [scroll.scrollLeft, scroll.scrollTop] : [0, 0];
    const focused = document.activeElement && this.treeBox.contains(document.activeElement)
      ? document.activeElement.getAttribute('data-testid') : null;
    const nodes = this.nodes;
    const tree = renderTree(this.a, nodes, {
      selected: this.selected,
      onSelect: (n) => this.select(n ? keyString(n.key) : 'application'),
    });
    const children = [tree];
    if (this.treeError) children.unshift(h('p', { class: 'error', role: 'alert', text: `Could not load the resource tree: ${this.treeError.message}` }));
    this.treeBox.replaceChildren(...children);
    const next = this.treeBox.querySelector('.tree-scroll');
    next.scrollLeft = pos[0];
    next.scrollTop = pos[1];
    if (focused) {
      const el = this.treeBox.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
      if (el) el.focus();
    }
    this.treeSummary.textContent = resourcesSummary(this.a.status || {}, nodes)
      + '. Select one for its manifest, diff and events.';
  }

  drawHistory() {
    const st = this.a.status || {};
    const hist = [...(st.history || [])].reverse();
    const current = st.sync && st.sync.revision;
    fill(this.history,
      h('h2', { id: 'history-title', text: 'History' }),
      hist.length === 0 ? h('p', { class: 'muted', text: 'No successful sync yet.' })
        : h('div', { class: 'table-wrap' }, h('table', { class: 'history-table', 'data-testid': 'history' },
          h('thead', {}, h('tr', {}, ['ID', 'Revision', 'Source', 'Deployed', 'By', ''].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, hist.map((e, i) => {
            const sources = entrySources(e);
            const revs = entryRevisions(e);
            const multi = sources.length > 1;
            return h('tr', { 'data-testid': `history-row-${e.id}`, 'data-revision': e.revision || '' },
              h('td', { text: `#${e.id}` }),
              h('td', {},
                multi ? h('ul', { class: 'stack', 'data-testid': 'history-revisions' },
                  revs.map((r) => h('li', {}, revisionDetail(r)))) : revisionDetail(e.revision),
                i === 0 && e.revision === current ? h('span', { class: 'tag', text: 'deployed' }) : null),
              h('td', { class: 'source' },
                multi ? h('ul', { class: 'stack' }, sources.map((src) => h('li', { title: sourceText(src), text: entrySourceText(src) })))
                  : h('span', { title: sourceText(sources[0]), text: entrySourceText(sources[0]) })),
              h('td', {}, timeAgo(e.deployedAt)),
              h('td', { text: e.initiatedBy && e.initiatedBy.automated ? 'automated' : (e.initiatedBy && e.initiatedBy.username) || '—' }),
              h('td', { class: 'row-actions' }, h('button', {
                type: 'button', class: 'button small', 'data-testid': `rollback-${e.id}`, onclick: () => this.rollback(e),
                'aria-label': `Roll back to #${e.id} (${shortSHA(e.revision)})`,
              }, icon('undo'), 'Rollback')));
          })))));
  }

  // ---- the side panel -------------------------------------------------

  select(id) {
    this.selected = this.selected === id ? null : id;
    this.drawTree();
    this.drawPanel();
    if (this.panel) this.panel.el.querySelector('[role="tab"][aria-selected="true"]').focus();
  }

  selectedNode() {
    return this.nodes.find((n) => keyString(n.key) === this.selected) || null;
  }

  drawPanel() {
    if (!this.selected) {
      this.panel = null;
      this.panelBox.replaceChildren();
      this.container.classList.remove('open');
      return;
    }
    const node = this.selected === 'application' ? null : this.selectedNode();
    if (this.selected !== 'application' && !node) {
      // The object went away (a pod replaced in a rollout): keep the panel
      // with what it showed, marked as gone.
      if (this.panel) this.panel.el.classList.add('gone');
      return;
    }
    if (this.panel && this.panel.id === this.selected) {
      this.panel.update(this.a, node);
      return;
    }
    this.panel = new Panel(this.a, node, {
      onClose: () => {
        const id = this.selected;
        this.selected = null;
        this.drawTree();
        this.drawPanel();
        const el = this.treeBox.querySelector(`.node[data-key="${CSS.escape(id)}"]`);
        if (el) el.focus();
      },
      onSync: (key) => this.sync([key]),
    });
    this.panel.id = this.selected;
    this.panelBox.replaceChildren(this.panel.el);
    this.container.classList.add('open');
  }

  // ---- actions ----------------------------------------------------------

  async sync(resources) {
    const sources = specSources(this.a.spec);
    const src = sources[0];
    let what;
    if (sources.length > 1) {
      what = [h('p', { text: `Apply the target revisions of its ${sources.length} sources to the cluster now:` }),
        h('ul', { class: 'source-list' }, sources.map((s) => h('li', { text: sourceText(s) })))];
    } else if (isChart(src)) {
      what = h('p', {}, 'Apply chart ', h('code', { text: chartName(src) }), ` ${src.targetRevision || 'latest'} from `,
        h('code', { text: src.repoURL }), ' to the cluster now.');
    } else {
      what = h('p', {}, `Apply ${src.targetRevision || 'HEAD'} of `, h('code', { text: repoName(src.repoURL) }),
        ' to the cluster now.');
    }
    const prune = checkbox('prune', 'Prune', 'delete objects that git no longer declares', 'sync-prune');
    const dryRun = checkbox('dry-run', 'Dry run', 'work out what would change, change nothing', 'sync-dry-run');
    const only = resources.length
      ? h('p', {}, 'Only: ', resources.map((k, i) => [i ? ', ' : '', h('code', { text: `${k.kind}/${k.name}` })]))
      : null;
    const plan = destructivePlan(this.a, '', resources, prune, dryRun);
    const ok = await confirmDialog({
      title: `Sync ${this.name}`,
      testid: 'sync-dialog',
      body: [what, only, prune, dryRun, plan.el],
      confirmLabel: 'Sync',
      confirmTestid: 'confirm-sync',
    });
    if (!ok) return;
    const body = {
      revision: '', prune: prune.querySelector('input').checked, dryRun: dryRun.querySelector('input').checked,
      resources: resources.map((k) => ({ group: k.group || '', kind: k.kind, namespace: k.namespace || '', name: k.name })),
    };
    await this.post('/sync', body, body.dryRun ? 'Dry-run sync started.' : 'Sync started.');
  }

  async rollback(entry) {
    const prune = checkbox('prune', 'Prune', 'delete objects that revision does not declare', 'rollback-prune');
    const plan = destructivePlan(this.a, entry.revision, [], prune, null);
    const ok = await confirmDialog({
      title: `Roll back ${this.name} to #${entry.id}?`,
      testid: 'rollback-dialog',
      body: [
        restoreText(entry),
        h('p', { class: 'warn-text' }, icon('pause'),
          ' Automated sync is suspended afterwards, so nothing undoes the rollback, until you resume it.'),
        prune, plan.el],
      confirmLabel: 'Roll back',
      confirmTestid: 'confirm-rollback',
      danger: true,
    });
    if (!ok) return;
    await this.post('/rollback', { id: entry.id, prune: prune.querySelector('input').checked }, `Rollback to #${entry.id} started.`);
  }

  async resume() {
    const ok = await confirmDialog({
      title: `Resume automated sync of ${this.name}?`,
      testid: 'resume-dialog',
      body: h('p', { text: 'gyre will follow git again and sync the target revision on its own.' }),
      confirmLabel: 'Resume',
      confirmTestid: 'confirm-resume',
    });
    if (ok) await this.post('/resume', undefined, 'Automated sync resumed.');
  }

  async refresh() {
    this.refreshButton.disabled = true;
    await this.post('/refresh', undefined, 'Refresh requested: gyre compares git with the cluster again.');
    this.refreshButton.disabled = false;
  }

  async post(suffix, body, done) {
    try {
      await request('POST', appPath(this.namespace, this.name, suffix), body);
      toast(done);
      this.load();
    } catch (err) {
      if (err instanceof APIError && err.status === 401) return;
      toast(`${suffix.slice(1)} failed: ${err.message}`, 'error');
    }
  }
}

// destructivePlan lists, in its element, what a sync of application a at
// revision (its target revision when empty) would delete and replace, from
// the server's diff: with the Prune box ticked, the live objects git no
// longer declares; with the Replace=true sync option, the objects that
// differ. resources limits it to those objects when not empty. While the
// list would delete or replace anything, the dialog's confirm button says
// so and turns red: a sync that deletes takes a click on a button that
// says it deletes. A ticked Dry run box (dryRun, may be null) changes
// nothing, so the button stays as it is then.
function destructivePlan(a, revision, resources, prune, dryRun) {
  const el = h('div', { class: 'sync-plan', 'data-testid': 'sync-plan', 'aria-live': 'polite', 'aria-busy': 'true' },
    h('p', { class: 'muted', text: 'Working out what the sync would delete or replace…' }));
  const pruneBox = prune.querySelector('input');
  const dryBox = dryRun && dryRun.querySelector('input');
  const opts = (a.spec.syncPolicy && a.spec.syncPolicy.syncOptions) || [];
  const replace = opts.some((o) => o.replace(/\s/g, '').toLowerCase() === 'replace=true');
  const only = (k) => resources.length === 0 || resources.some((r) => (r.group || '') === (k.group || '')
    && r.kind === k.kind && (r.namespace || '') === (k.namespace || '') && r.name === k.name);
  let items = null;
  let failed = '';
  const show = () => {
    if (items === null && !failed) return;
    el.setAttribute('aria-busy', 'false');
    const pruned = (items || []).filter((it) => it.status === 'Extraneous' && only(it.key));
    const replaced = replace ? (items || []).filter((it) => it.status === 'OutOfSync' && only(it.key)) : [];
    const deleting = pruneBox.checked ? pruned : [];
    const row = (it, what) => h('li', {
      'data-testid': 'plan-object', 'data-action': what, 'data-kind': it.key.kind, 'data-name': it.key.name,
    }, h('code', { text: objectKey(it.key) }));
    fill(el,
      failed ? h('p', { class: 'warn-text', role: 'alert', text: `Could not work out what the sync would delete: ${failed}` }) : null,
      pruned.length === 0 && replaced.length === 0 && !failed
        ? h('p', { class: 'muted', text: 'The sync deletes and replaces nothing.' }) : null,
      pruned.length ? [
        h('p', { class: pruneBox.checked ? 'warn-text' : 'muted' },
          pruneBox.checked ? 'These objects will be deleted (git no longer declares them):'
            : 'Git no longer declares these objects; with Prune they would be deleted:'),
        h('ul', { class: 'plan-list', 'data-testid': 'plan-prune' }, pruned.map((it) => row(it, 'prune')))] : null,
      replaced.length ? [
        h('p', { class: 'warn-text', text: 'These objects will be replaced (Replace=true: fields git does not declare are removed):' }),
        h('ul', { class: 'plan-list', 'data-testid': 'plan-replace' }, replaced.map((it) => row(it, 'replace')))] : null);
    const button = el.closest('dialog') && el.closest('dialog').querySelector('.dialog-buttons button[value="ok"]');
    if (!button) return;
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
      button.dataset.danger = String(button.classList.contains('danger'));
    }
    const n = deleting.length + replaced.length;
    const danger = n > 0 && !(dryBox && dryBox.checked);
    button.textContent = danger ? `${button.dataset.label} and ${deleting.length ? `delete ${deleting.length}` : ''}${deleting.length && replaced.length ? ', ' : ''}${replaced.length ? `replace ${replaced.length}` : ''}` : button.dataset.label;
    button.classList.toggle('danger', danger || button.dataset.danger === 'true');
    button.classList.toggle('primary', !danger && button.dataset.danger !== 'true');
  };
  pruneBox.addEventListener('change', show);
  if (dryBox) dryBox.addEventListener('change', show);
  get(appPath(a.metadata.namespace, a.metadata.name, '/diff'), { revision })
    .then((d) => { items = d.items || []; show(); })
    .catch((err) => { failed = err.message; show(); });
  return { el };
}

// objectKey names an object as the CLI does: [group/]kind/[namespace/]name.
function objectKey(k) {
  return `${k.group ? k.group + '/' : ''}${k.kind}/${k.namespace ? k.namespace + '/' : ''}${k.name}`;
}

// specSources returns an Application's sources: spec.sources when set,
// else spec.source alone, as app.Spec.SourceList does.
function specSources(spec) {
  if (spec && spec.sources && spec.sources.length) return spec.sources;
  return [(spec && spec.source) || {}];
}

// entrySources returns the sources a history entry recorded.
function entrySources(e) {
  return e.sources && e.sources.length ? e.sources : [e.source || {}];
}

// entryRevisions returns the revision of each of entrySources(e).
function entryRevisions(e) {
  return e.revisions && e.revisions.length ? e.revisions : [e.revision];
}

// repoLink shows a repository address, a link when it is a web address;
// text is what it says (the address itself by default).
function repoLink(url, text = url) {
  return /^https?:\/\//.test(url || '')
    ? h('a', { href: url, rel: 'noreferrer', title: url, text })
    : h('span', { title: url, text });
}

// sourceLine shows one source in the facts: "demo 1.* from
// https://charts.example.com" for a chart, "org/repo path @ main" for git,
// with its ref name when it has one.
function sourceLine(src) {
  const ref = src.ref ? h('span', { class: 'tag', title: `The other sources read this one's files as $${src.ref}`, text: `ref ${src.ref}` }) : null;
  if (isChart(src)) {
    return h('span', { class: 'source-line', 'data-chart': chartName(src) },
      h('strong', { text: chartName(src) }), ` ${src.targetRevision || 'latest'} from `, repoLink(src.repoURL), ref);
  }
  return h('span', { class: 'source-line' },
    repoLink(src.repoURL, repoName(src.repoURL)), src.path ? ` ${src.path}` : '', ` @ ${src.targetRevision || 'HEAD'}`, ref);
}

// entrySourceText says in a few words what a history entry's source was:
// "demo @ 1.*" for a chart, "guestbook @ main" for a path in git, the
// repository for a ref source without a path.
function entrySourceText(src) {
  const name = isChart(src) ? chartName(src) : src.path || repoName(src.repoURL);
  return `${name} @ ${src.targetRevision || (isChart(src) ? 'latest' : 'HEAD')}${src.ref ? ` (ref ${src.ref})` : ''}`;
}

// restoreText says what a rollback to entry e restores.
function restoreText(e) {
  const sources = entrySources(e);
  const revs = entryRevisions(e);
  if (sources.length > 1) {
    return h('div', { 'data-testid': 'rollback-what' },
      h('p', { text: `This syncs the ${sources.length} sources as they were then, with the source options recorded then:` }),
      h('ul', { class: 'source-list' }, sources.map((src, i) => h('li', {}, sourceText(src), ' at ', revisionDetail(revs[i])))));
  }
  const src = sources[0];
  if (isChart(src)) {
    return h('p', { 'data-testid': 'rollback-what' }, 'This syncs chart ', h('strong', { text: chartName(src) }),
      ' version ', revisionDetail(e.revision), ' from ', h('code', { text: src.repoURL || '' }),
      ' with the source options recorded then.');
  }
  return h('p', { 'data-testid': 'rollback-what' }, 'This syncs revision ', revision(e.revision),
    src.repoURL ? [' of ', h('code', { text: `${repoName(src.repoURL)}${src.path ? ' ' + src.path : ''}` })] : null,
    ' with the source options recorded then.');
}

// automation says how the application syncs.
function automation(a) {
  const st = a.status || {};
  const auto = a.spec && a.spec.syncPolicy && a.spec.syncPolicy.automated;
  if (st.automationSuspended) return h('span', { class: 'tag warn', text: 'suspended' });
  if (!auto) return 'manual';
  const opts = [auto.prune ? 'prune' : '', auto.selfHeal ? 'self-heal' : ''].filter(Boolean);
  return `automated${opts.length ? ` (${opts.join(', ')})` : ''}`;
}

// tally counts change set entries by action.
function tally(changes) {
  const n = {};
  for (const c of changes) n[c.action] = (n[c.action] || 0) + 1;
  return n;
}

// countActions says "2 created, 5 unchanged" from counts by action.
function countActions(counts) {
  return Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ');
}

// resourcesSummary says how many objects the application manages and how
// many are out of sync or not healthy: from status.summary.resources, which
// counts them all, else from the tree. When the status lists only some of
// them it says so, and how many the tree shows.
function resourcesSummary(st, nodes) {
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const sum = st.summary && st.summary.resources;
  if (!sum) {
    const bad = nodes.filter((n) => n.health && !['Healthy', 'Suspended'].includes(n.health.status)).length;
    const out = nodes.filter((n) => n.sync === 'OutOfSync').length;
    return plural(nodes.length, 'object') + (bad ? ` · ${bad} not healthy` : '') + (out ? ` · ${out} out of sync` : '');
  }
  const health = sum.health || {};
  const bad = Object.keys(health).filter((k) => !['Healthy', 'Suspended'].includes(k)).reduce((n, k) => n + health[k], 0);
  const out = (sum.sync || {}).OutOfSync || 0;
  let text = plural(sum.total, 'managed object') + (bad ? ` · ${bad} not healthy` : '') + (out ? ` · ${out} out of sync` : '');
  if (sum.truncated) {
    const roots = nodes.filter((n) => !(n.parentUIDs && n.parentUIDs.length)).length;
    const listed = (st.resources || []).length;
    text += ` · the status lists ${listed} of them, ${roots >= sum.total ? 'the tree shows them all' : `the tree shows ${roots}`}`;
  }
  return text;
}

function duration(from, to) {
  const ms = Date.parse(to) - Date.parse(from);
  if (!(ms >= 0)) return '';
  const s = Math.round(ms / 1000);
  return s < 60 ? ` (took ${s}s)` : ` (took ${Math.floor(s / 60)}m${s % 60}s)`;
}
