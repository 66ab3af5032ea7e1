// The demo page: every result is computed here, in the browser, by the
// component. What the page computed is also kept in `window.omsDemo.results`
// (the delta as base64), which the Chromium tests compare with Python's.

const $ = (id) => document.getElementById(id);
const status = $('status');
const results = {};
window.omsDemo = { results, ready: false };

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** An error in a section: its type, code and where, plainly. */
function errorBox(e) {
  // (The component's messages about text already say the line and column.)
  const code = e.code ? ` [${e.code}]` : '';
  return el('div', { className: 'error' }, `${e.name}${code}: ${e.message}`);
}

/**
 * Runs `f` for the page's section `id` (its result kept as results[key]),
 * shows its time, and its error instead of a result.
 */
function section(key, f, { id = key, body = $(id).querySelector('.body') } = {}) {
  const t0 = performance.now();
  try {
    body.replaceChildren(...[f()].flat());
  } catch (e) {
    body.replaceChildren(errorBox(e));
    results[key] = { error: { name: e.name, code: e.code ?? null, message: e.message, position: e.position ?? null } };
  }
  $(id).querySelector('.time').textContent = `${(performance.now() - t0).toFixed(2)} ms`;
}

const base64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
const encoder = new TextEncoder();

async function fetchData(name, as) {
  const r = await fetch(`data/${name}`);
  if (!r.ok) throw new Error(`data/${name}: HTTP ${r.status} (run \`make build\`, which writes the demo's data)`);
  return as === 'bytes' ? new Uint8Array(await r.arrayBuffer()) : r.text();
}

function table(head, rows) {
  return el(
    'table',
    {},
    el('tr', {}, ...head.map((h) => el('th', {}, h))),
    ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, String(c))))),
  );
}

async function main() {
  const t0 = performance.now();
  let oms;
  try {
    oms = await import('../index.js');
  } catch (e) {
    setStatus('error', `The component did not load: ${e.message}`);
    throw e;
  }
  const loadMs = performance.now() - t0;
  $('sha').textContent = oms.componentSha256;
  const [v1, v2, schema, vectors, meta] = await Promise.all([
    fetchData('v1.json'),
    fetchData('v2.json'),
    fetchData('schema.json'),
    fetchData('embeddings.f32', 'bytes'),
    fetchData('labels.json').then(JSON.parse),
  ]);
  $('v1').value = v1;
  $('v2').value = v2;
  $('schema').value = schema;

  // The embeddings' index, built once.
  const index = new oms.VectorIndex(meta.dimension, { metric: 'cosine' });
  const rows = new Float32Array(vectors.buffer, vectors.byteOffset, vectors.byteLength / 4);
  index.add(rows);
  $('query').max = String(index.size - 1);

  const compare = () => {
    const [a, b, s] = [$('v1').value, $('v2').value, $('schema').value];
    section('delta', () => {
      const [oldBytes, newBytes] = [encoder.encode(a), encoder.encode(b)];
      const delta = oms.encodeDelta(oldBytes, newBytes);
      const back = oms.decodeDelta(oldBytes, delta);
      const same = back.length === newBytes.length && back.every((x, i) => x === newBytes[i]);
      results.delta = { size: delta.length, newSize: newBytes.length, roundTrip: same, base64: base64(delta) };
      const ratio = newBytes.length ? ((100 * delta.length) / newBytes.length).toFixed(2) : '0';
      return [
        el('p', {}, `${delta.length} bytes for ${newBytes.length} of version 2 (${ratio}%). `),
        el('p', { className: same ? 'ok' : 'error' }, same ? 'Round trip: decoded, identical to version 2.' : 'Round trip FAILED.'),
      ];
    });
    section('diff', () => {
      const patch = oms.diff(a, b);
      const ops = JSON.parse(patch);
      results.diff = { patch };
      return [el('p', {}, `${ops.length} operations`), el('pre', {}, JSON.stringify(ops, null, 1))];
    });
    section('violations', () => {
      const found = oms.Schema.compile(s).validate(b);
      results.violations = { list: found };
      if (found.length === 0) return el('p', { className: 'ok' }, 'Version 2 is valid.');
      return [
        el('p', {}, `${found.length} violations`),
        table(['instance path', 'schema path', 'message'], found.map((v) => [v.instancePath, v.schemaPath, v.message])),
      ];
    });
    lookup();
  };

  const lookup = () =>
    section('lookup', () => {
      const pointer = $('pointer').value;
      const value = oms.JsonDocument.parse($('v2').value).get(pointer);
      results.lookup = { pointer, value: value ?? null };
      return value === undefined ? el('p', {}, `Nothing at ${pointer}`) : el('pre', {}, value);
    });

  const search = () =>
    section('search', () => {
      const q = Number($('query').value);
      const k = Number($('k').value);
      if (!Number.isInteger(q) || q < 0 || q >= index.size) {
        throw new oms.ArgumentError('invalid-argument', `no embedding number ${$('query').value} (0 to ${index.size - 1})`);
      }
      const { ids, scores } = index.search(rows.subarray(q * meta.dimension, (q + 1) * meta.dimension), k);
      results.search = { query: q, k, ids, scores: Array.from(scores) };
      return table(['id', 'label', 'cosine'], ids.map((id, i) => [id, meta.labels[id], scores[i].toFixed(4)]));
    });

  // A delta file (from Python, xdelta3, ...) applied to version 1.
  $('delta-file').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const delta = new Uint8Array(await file.arrayBuffer());
    section(
      'applied',
      () => {
        const out = oms.decodeDelta(encoder.encode($('v1').value), delta);
        const text = new TextDecoder().decode(out);
        results.applied = { size: out.length, text };
        $('v2').value = text;
        return el('p', { className: 'ok' }, `${file.name}: ${out.length} bytes decoded into version 2.`);
      },
      { id: 'delta', body: $('applied') },
    );
    window.omsDemo.applied = (window.omsDemo.applied ?? 0) + 1;
  });

  // Drop or choose a file for a box.
  for (const id of ['v1', 'v2', 'schema']) {
    const box = $(id);
    const load = async (file) => {
      box.value = await file.text();
      compare();
    };
    $(`${id}-file`).addEventListener('change', (ev) => ev.target.files[0] && load(ev.target.files[0]));
    box.addEventListener('dragover', (ev) => {
      ev.preventDefault();
      box.classList.add('dragging');
    });
    box.addEventListener('dragleave', () => box.classList.remove('dragging'));
    box.addEventListener('drop', (ev) => {
      ev.preventDefault();
      box.classList.remove('dragging');
      if (ev.dataTransfer.files[0]) load(ev.dataTransfer.files[0]);
    });
  }
  $('run').addEventListener('click', () => {
    compare();
    search();
    window.omsDemo.runs += 1;
  });
  $('pointer').addEventListener('change', lookup);
  $('query').addEventListener('change', search);
  $('k').addEventListener('change', search);

  compare();
  search();
  $('run').disabled = false;
  window.omsDemo.runs = 1;
  window.omsDemo.ready = true;
  setStatus('ready', `Ready: component loaded in ${loadMs.toFixed(0)} ms; ${index.size} embeddings of ${meta.dimension} indexed.`);
}

main().catch((e) => {
  if (status.dataset.state !== 'error') setStatus('error', `The demo failed: ${e.message}`);
  window.omsDemo.failed = String(e);
});
