// tree.js: the resource tree, drawn left to right.
//
// Column 0 holds the Application. Each tree node goes in the column of its
// depth plus one, where depth is the length of the longest ParentUIDs chain
// up to a top-level node (a declared object, with no parents): so
// Deployment → ReplicaSet → Pod and Service → EndpointSlice → Pod take
// columns 1, 2 and 3. Rows come from a tidy-tree pass over a spanning
// forest: every node hangs under one primary parent (its deepest parent,
// the first listed on a tie); a leaf takes the next free row and a parent
// sits in the middle of its children. Lines to the other parents (a Pod's
// EndpointSlice) are drawn dashed. Every node carries data-uid and
// data-parents (its ParentUIDs, space-separated), and every line data-from
// and data-to, so tests and scripts can follow the tree through the DOM.

import { h, healthBadge, kindAbbrev, kindClass, s, syncBadge } from './dom.js';

const NODE_W = 256;
const NODE_H = 72;
const COL_GAP = 64;
const ROW_GAP = 14;
const PAD = 12;

// keyString identifies a resource key as text.
export function keyString(k) {
  return `${k.group || ''}/${k.kind}/${k.namespace || ''}/${k.name}`;
}

// layout computes the column and row of every node. It returns the items
// (one per node, in drawing order), the Application's item, and the number
// of columns and rows.
export function layout(nodes) {
  const items = nodes.map((n, i) => ({
    node: n, id: n.uid || `missing-${i}`, parents: [], children: [], depth: -1, primary: null,
  }));
  const byUID = new Map(items.filter((it) => it.node.uid).map((it) => [it.node.uid, it]));
  for (const it of items) {
    it.parents = (it.node.parentUIDs || []).map((u) => byUID.get(u)).filter((p) => p && p !== it);
  }
  const depth = (it, seen = new Set()) => {
    if (it.depth >= 0) return it.depth;
    if (seen.has(it)) return 0; // an owner cycle: count as a root
    seen.add(it);
    it.depth = it.parents.reduce((d, p) => Math.max(d, depth(p, seen) + 1), 0);
    return it.depth;
  };
  items.forEach((it) => depth(it));

  const app = { id: 'application', children: [], depth: -1 };
  for (const it of items) {
    let primary = null;
    for (const p of it.parents) {
      if (p.depth < it.depth && (!primary || p.depth > primary.depth)) primary = p;
    }
    it.primary = primary;
    (primary || app).children.push(it);
  }
  let next = 0;
  const place = (it) => {
    it.col = it.depth + 1;
    if (it.children.length === 0) {
      it.row = next++;
      return;
    }
    it.children.forEach(place);
    it.row = (it.children[0].row + it.children[it.children.length - 1].row) / 2;
  };
  place(app);
  if (app.children.length === 0) app.row = 0;
  const cols = Math.max(0, ...items.map((it) => it.col)) + 1;
  return { items, app, cols, rows: Math.max(next, 1) };
}

function x(col) {
  return PAD + col * (NODE_W + COL_GAP);
}

function y(row) {
  return PAD + row * (NODE_H + ROW_GAP);
}

// renderTree draws the tree of application a. selected is the keyString of
// the selected node; onSelect(node) is called when a node is chosen (null
// for the Application's own node).
export function renderTree(a, nodes, { selected, onSelect }) {
  const { items, app, cols, rows } = layout(nodes);
  const width = x(cols) - COL_GAP + PAD;
  const height = y(rows) - ROW_GAP + PAD;
  const appUID = (a.metadata && a.metadata.uid) || 'application';

  const lines = s('svg', { class: 'tree-lines', width, height, 'aria-hidden': 'true' });
  const edge = (from, to, fromUID, toUID, secondary) => {
    const x1 = x(from.col) + NODE_W;
    const y1 = y(from.row) + NODE_H / 2;
    const x2 = x(to.col);
    const y2 = y(to.row) + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    lines.append(s('path', {
      d: `M${x1} ${y1}C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}`,
      class: secondary ? 'edge secondary' : 'edge',
      'data-testid': 'tree-edge', 'data-from': fromUID, 'data-to': toUID || '',
    }));
  };
  app.col = 0;
  for (const it of items) {
    if (it.parents.length === 0) edge(app, it, appUID, it.node.uid, false);
    for (const p of it.parents) edge(p, it, p.node.uid, it.node.uid, p !== it.primary);
  }

  const appNode = card({
    key: 'application', kind: 'Application', name: a.metadata.name, uid: appUID, parents: '',
    health: a.status && a.status.health, sync: a.status && a.status.sync && a.status.sync.status,
    info: [], selected: false, onclick: () => onSelect(null),
  });
  place(appNode, app);
  // DOM order is column by column, top to bottom, so Tab walks the tree
  // the way it reads.
  const ordered = [...items].sort((p, q) => p.col - q.col || p.row - q.row);
  const cards = ordered.map((it) => {
    const n = it.node;
    const el = card({
      key: keyString(n.key), kind: n.key.kind, name: n.key.name, namespace: n.key.namespace, uid: n.uid || '',
      parents: (n.parentUIDs || []).join(' '), health: n.health, sync: n.sync, info: n.info || [],
      selected: selected === keyString(n.key), onclick: () => onSelect(n),
    });
    place(el, it);
    return el;
  });
  const canvas = h('div', { class: 'tree-canvas', 'data-testid': 'tree', role: 'group', 'aria-label': 'Resource tree' },
    lines, appNode, cards);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  return h('div', { class: 'tree-scroll' }, canvas);
}

function place(el, it) {
  el.style.left = `${x(it.col)}px`;
  el.style.top = `${y(it.row)}px`;
  el.style.width = `${NODE_W}px`;
  el.style.height = `${NODE_H}px`;
}

// card draws one node as a button.
function card({ key, kind, name, namespace, uid, parents, health, sync, info, selected, onclick }) {
  const status = (health && health.status) || '';
  const facts = summary(info);
  const title = [`${kind} ${namespace ? namespace + '/' : ''}${name}`]
    .concat(health && health.message ? [health.message] : [])
    .concat(info.map((i) => `${i.name}: ${i.value}`))
    .join('\n');
  return h('button', {
    type: 'button',
    class: `node health-${status || 'none'}${uid ? '' : ' missing'}${selected ? ' selected' : ''}`,
    'data-testid': `tree-node-${kind}-${name}`,
    'data-key': key, 'data-uid': uid, 'data-parents': parents, 'data-kind': kind, 'data-name': name,
    'data-namespace': namespace || '', 'data-health': status, 'data-sync': sync || '',
    'aria-pressed': selected ? 'true' : 'false', title, onclick,
  },
  h('span', { class: `kind ${kindClass(kind)}`, 'aria-hidden': 'true', text: kindAbbrev(kind) }),
  h('span', { class: 'node-body' },
    h('span', { class: 'node-name' },
      h('span', { class: 'visually-hidden', text: `${kind} ${name}` }),
      h('span', { 'aria-hidden': 'true', text: shorten(name) })),
    h('span', { class: 'node-badges' },
      health ? healthBadge(health.status, health.message) : null,
      sync ? syncBadge(sync) : null),
    facts ? h('span', { class: 'node-info', text: facts }) : null));
}

// summary picks the facts to print on a card: a pod's status, ready
// counts, a Service's type; the panel shows them all.
function summary(info) {
  const out = [];
  for (const i of info) {
    if (out.length === 2) break;
    if (i.name === 'Node' || i.name === 'IP' || i.name === 'Revision') continue;
    out.push(i.name === 'Status' || i.name === 'Type' ? i.value : `${i.name} ${i.value}`);
  }
  return out.join(' · ');
}

// shorten cuts a long name in the middle, where generated names (a pod's
// replica-set hash and suffix) keep the part that tells them apart at the end.
function shorten(name, max = 21) {
  if (name.length <= max) return name;
  const tail = Math.floor((max - 1) / 2);
  return `${name.slice(0, max - 1 - tail)}…${name.slice(-tail)}`;
}
