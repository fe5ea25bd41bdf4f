// yaml.js: prints a JSON value as YAML, the way people read manifests. It
// only writes (no parser): maps and lists as blocks, multi-line strings as
// literal blocks, strings quoted when plain YAML would read them as
// something else.

// toYAML returns v as a YAML document.
export function toYAML(v) {
  return (isBlock(v) ? block(v, 0) : [scalar(v)]).join('\n') + '\n';
}

function isBlock(v) {
  return v !== null && typeof v === 'object' && Object.keys(v).length > 0;
}

function isMultiline(v) {
  return typeof v === 'string' && v.includes('\n');
}

// block returns the lines of a non-empty map or list, indented by n.
function block(v, n) {
  const pad = ' '.repeat(n);
  const out = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isBlock(item)) {
        const sub = block(item, n + 2);
        sub[0] = pad + '- ' + sub[0].slice(n + 2);
        out.push(...sub);
      } else if (isMultiline(item)) {
        out.push(pad + '- ' + literalHeader(item), ...literal(item, n + 2));
      } else {
        out.push(pad + '- ' + scalar(item));
      }
    }
    return out;
  }
  for (const [k, val] of Object.entries(v)) {
    const key = pad + mapKey(k) + ':';
    if (isBlock(val)) {
      // Lists under a key stay at the key's indentation, as kubectl prints.
      out.push(key, ...block(val, Array.isArray(val) ? n : n + 2));
    } else if (isMultiline(val)) {
      out.push(key + ' ' + literalHeader(val), ...literal(val, n + 2));
    } else {
      out.push(key + ' ' + scalar(val));
    }
  }
  return out;
}

function literalHeader(s) {
  return s.endsWith('\n') ? '|' : '|-';
}

function literal(s, n) {
  const pad = ' '.repeat(n);
  return s.replace(/\n$/, '').split('\n').map((line) => (line ? pad + line : ''));
}

function mapKey(k) {
  return /^[A-Za-z0-9_./-][A-Za-z0-9_./ -]*$/.test(k) && !/ $/.test(k) ? k : JSON.stringify(k);
}

// scalar prints a scalar or an empty map or list.
function scalar(v) {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return '[]';
  if (typeof v === 'object') return '{}';
  if (typeof v !== 'string') return String(v);
  const plain = v !== ''
    && !/^[\s\-?:,[\]{}#&*!|>'"%@`]/.test(v)
    && !/\s$/.test(v)
    && !/:$/.test(v)
    && !/: |\s#/.test(v)
    && !/^(true|false|yes|no|on|off|null|~|y|n)$/i.test(v)
    && !/^[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|\.\d+|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)$/i.test(v);
  return plain ? v : JSON.stringify(v);
}
