// monsoon's web page: the torrent list from the daemon's event stream
// (/api/v1/events), actions through /api/v1. Plain JavaScript, no build
// step. Every name from the daemon is put in the page as text
// (textContent), never as HTML.
'use strict';

const API = 'api/v1';
const GRAPH_SECONDS = 300;
const STALE_MS = 7000; // the stream sends `stats` every 2 s

const state = {
  sid: null,
  torrents: new Map(), // id -> torrent
  rows: new Map(), // id -> <tr>
  selected: null,
  tab: 'files',
  samples: new Map(), // id -> [[t, down, up]]
  events: null,
  lastEvent: 0,
  online: true,
  removing: null,
  detailTimer: null,
};

const $ = (sel) => document.querySelector(sel);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
  }
  for (const c of children) e.append(c);
  return e;
}

// ---- formatting ----

function bytes(n) {
  if (n == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

const rate = (n) => (n ? `${bytes(n)}/s` : '–');

function duration(s) {
  if (s == null) return '∞';
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function when(unix) {
  if (!unix) return '–';
  const d = Math.round(unix - Date.now() / 1000);
  return d >= 0 ? `in ${duration(d)}` : `${duration(-d)} ago`;
}

const percent = (p) => `${(Math.floor(p * 1000) / 10).toFixed(1)} %`;

const STATES = {
  fetching_metadata: 'Fetching metadata',
  checking: 'Checking',
  downloading: 'Downloading',
  seeding: 'Seeding',
  paused: 'Paused',
  stopped: 'Stopped',
  error: 'Error',
};
const stateName = (t) => STATES[t.state] || t.state;

// ---- the API ----

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body, retried) {
  const headers = { 'X-Monsoon-Web': '1' };
  if (state.sid) headers['X-Monsoon-Session-Id'] = state.sid;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(`${API}${path}`, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    setOnline(false);
    throw new ApiError(0, 'cannot reach the monsoon daemon');
  }
  const sid = r.headers.get('X-Monsoon-Session-Id');
  if (sid) state.sid = sid;
  const text = await r.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch (e) { data = { message: text }; } }
  // A restarted daemon has a new session id: this answer carried it.
  if (r.status === 409 && data && data.error === 'session_id' && !retried) {
    return api(method, path, body, true);
  }
  if (r.status === 401) {
    showLogin();
    throw new ApiError(401, 'log in first');
  }
  if (!r.ok) throw new ApiError(r.status, (data && data.message) || r.statusText);
  return data;
}

function toast(message, isError) {
  const t = $('#toast');
  t.textContent = message;
  t.classList.toggle('error', !!isError);
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 3000);
}

async function act(what, fn) {
  try {
    await fn();
  } catch (e) {
    if (e.status !== 401) toast(`${what}: ${e.message}`, true);
  }
}

// ---- connection: the event stream, the banner ----

function setOnline(online) {
  if (state.online === online) return;
  state.online = online;
  const b = $('#banner');
  b.hidden = online;
  b.textContent = online ? '' : `Cannot reach the monsoon daemon at ${location.host}. Reconnecting…`;
  document.body.classList.toggle('offline', !online);
}

function connect() {
  if (state.events) state.events.close();
  const es = new EventSource(`${API}/events`);
  state.events = es;
  const seen = () => { state.lastEvent = Date.now(); setOnline(true); };
  es.addEventListener('snapshot', (e) => {
    seen();
    const list = JSON.parse(e.data);
    const ids = new Set(list.map((t) => t.id));
    for (const id of [...state.torrents.keys()]) if (!ids.has(id)) removeRow(id);
    for (const t of list) upsert(t);
    renderEmpty();
  });
  es.addEventListener('torrent', (e) => { seen(); upsert(JSON.parse(e.data)); renderEmpty(); });
  es.addEventListener('removed', (e) => { seen(); removeRow(JSON.parse(e.data).id); renderEmpty(); });
  es.addEventListener('stats', (e) => {
    seen();
    const s = JSON.parse(e.data);
    $('#total-down').textContent = `↓ ${bytes(s.download_rate)}/s`;
    $('#total-up').textContent = `↑ ${bytes(s.upload_rate)}/s`;
  });
  es.addEventListener('open', seen);
  es.addEventListener('error', () => {
    // The browser retries a dropped stream by itself, but not one that
    // answered an error status: start over then.
    setOnline(false);
    if (es.readyState === EventSource.CLOSED) setTimeout(boot, 2000);
  });
}

// A stream that went silent (a dead connection) counts as lost.
setInterval(() => {
  if (state.events && state.lastEvent && Date.now() - state.lastEvent > STALE_MS) {
    setOnline(false);
    state.lastEvent = Date.now();
    connect();
  }
  sampleRates();
}, 1000);

async function boot() {
  try {
    const s = await api('GET', '/session');
    $('#login').hidden = true;
    $('#list-pane').hidden = false;
    $('#logout').hidden = !s.password;
    setOnline(true);
    connect();
  } catch (e) {
    if (e.status === 0) setTimeout(boot, 2000);
  }
}

// ---- login ----

function showLogin() {
  if (state.events) { state.events.close(); state.events = null; }
  $('#list-pane').hidden = true;
  $('#detail').hidden = true;
  $('#login').hidden = false;
  $('#login-password').focus();
}

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('#login-error').textContent = '';
  try {
    await api('POST', '/login', { password: $('#login-password').value });
    $('#login-password').value = '';
    boot();
  } catch (err) {
    $('#login-error').textContent = err.status === 401 ? 'Wrong password.' : err.message;
  }
});

$('#logout').addEventListener('click', () => act('log out', async () => {
  await api('POST', '/logout');
  for (const id of [...state.torrents.keys()]) removeRow(id);
  showLogin();
}));

// ---- the list ----

function cell(label, cls) {
  return el('td', { 'data-label': label, class: cls || '' });
}

function makeRow(t) {
  const tr = el('tr', { tabindex: '0', 'data-id': String(t.id), 'data-hash': t.hash });
  const name = cell('Name', 'name');
  name.append(el('span', { class: 'title' }), el('span', { class: 'tags' }));
  const prog = cell('Progress', 'progress');
  prog.append(el('span', { class: 'bar', 'aria-hidden': 'true' }, el('span', { class: 'fill' })), el('span', { class: 'pct' }));
  const actions = cell('', 'actions');
  const toggle = el('button', { type: 'button', class: 'toggle' });
  toggle.addEventListener('click', (e) => {
    e.stopPropagation();
    const cur = state.torrents.get(t.id);
    act(cur.paused ? 'resume' : 'pause', () => api('POST', `/torrents/${t.id}/${cur.paused ? 'resume' : 'pause'}`));
  });
  const recheck = el('button', { type: 'button', class: 'recheck', text: 'Recheck' });
  recheck.addEventListener('click', (e) => {
    e.stopPropagation();
    act('recheck', () => api('POST', `/torrents/${t.id}/recheck`));
  });
  const remove = el('button', { type: 'button', class: 'remove danger', text: 'Remove' });
  remove.addEventListener('click', (e) => { e.stopPropagation(); askRemove(t.id); });
  actions.append(toggle, recheck, remove);
  tr.append(name, cell('Size', 'num size'), prog, cell('State', 'state'),
    cell('Down', 'num down'), cell('Up', 'num up'), cell('Ratio', 'num ratio'),
    cell('Peers', 'num peers'), cell('ETA', 'num eta'), actions);
  tr.addEventListener('click', () => openDetail(t.id));
  tr.addEventListener('keydown', (e) => {
    if (e.target === tr && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); openDetail(t.id); }
    if (e.target === tr && e.key === 'Delete') askRemove(t.id);
  });
  return tr;
}

function upsert(t) {
  state.torrents.set(t.id, t);
  let tr = state.rows.get(t.id);
  if (!tr) {
    tr = makeRow(t);
    state.rows.set(t.id, tr);
    const body = $('#torrents tbody');
    const after = [...state.rows.keys()].filter((id) => id > t.id).sort((a, b) => a - b)[0];
    body.insertBefore(tr, after === undefined ? null : state.rows.get(after));
  }
  const q = (s) => tr.querySelector(s);
  q('.title').textContent = t.name;
  const tags = [t.category, ...(t.labels || [])].filter(Boolean);
  q('.tags').textContent = tags.join(' · ');
  q('.size').textContent = bytes(t.has_metadata === false ? null : t.wanted);
  q('.fill').style.width = `${(t.progress * 100).toFixed(1)}%`;
  q('.pct').textContent = percent(t.progress);
  q('.state').textContent = t.error ? `Error: ${t.error}` : stateName(t);
  tr.dataset.state = t.state;
  q('.down').textContent = rate(t.download_rate);
  q('.up').textContent = rate(t.upload_rate);
  q('.ratio').textContent = t.ratio.toFixed(2);
  q('.peers').textContent = String(t.peers);
  q('.eta').textContent = t.progress >= 1 ? '–' : duration(t.eta);
  const toggle = q('.toggle');
  toggle.textContent = t.paused ? 'Resume' : 'Pause';
  toggle.setAttribute('aria-label', `${t.paused ? 'Resume' : 'Pause'} ${t.name}`);
  q('.recheck').setAttribute('aria-label', `Recheck ${t.name}`);
  q('.remove').setAttribute('aria-label', `Remove ${t.name}`);
  tr.setAttribute('aria-label', `${t.name}, ${stateName(t)}, ${percent(t.progress)}`);
  if (state.selected === t.id) $('#detail-name').textContent = t.name;
}

function removeRow(id) {
  const tr = state.rows.get(id);
  if (tr) tr.remove();
  state.rows.delete(id);
  state.torrents.delete(id);
  state.samples.delete(id);
  if (state.selected === id) closeDetail();
}

function renderEmpty() {
  $('#empty').hidden = state.torrents.size > 0;
  $('#torrents').hidden = state.torrents.size === 0;
}

// ---- remove, with a confirmation ----

function askRemove(id) {
  const t = state.torrents.get(id);
  if (!t) return;
  state.removing = id;
  $('#remove-name').textContent = t.name;
  $('#remove-data').checked = false;
  $('#remove-dialog').showModal();
  $('#remove-cancel').focus();
}

$('#remove-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = state.removing;
  const data = $('#remove-data').checked;
  $('#remove-dialog').close();
  act('remove', () => api('DELETE', `/torrents/${id}${data ? '?delete_data=true' : ''}`));
});
$('#remove-cancel').addEventListener('click', () => $('#remove-dialog').close());

// ---- add: file input, drag and drop, magnet link ----

async function addFiles(files, paused) {
  let added = 0;
  for (const f of files) {
    const form = new FormData();
    form.append('torrent', f, f.name);
    if (paused) form.append('paused', 'true');
    try {
      await api('POST', '/torrents', form);
      added++;
    } catch (e) {
      if (e.status !== 401) toast(`${f.name}: ${e.message}`, true);
      throw e;
    }
  }
  if (added) toast(`Added ${added} torrent${added > 1 ? 's' : ''}`);
}

$('#add-open').addEventListener('click', () => {
  $('#add-error').textContent = '';
  $('#add-form').reset();
  $('#add-dialog').showModal();
});
$('#add-cancel').addEventListener('click', () => $('#add-dialog').close());
$('#add-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const files = [...$('#add-file').files];
  const magnet = $('#add-magnet').value.trim();
  const paused = $('#add-paused').checked;
  if (!files.length && !magnet) {
    $('#add-error').textContent = 'Choose a .torrent file or paste a magnet link.';
    return;
  }
  try {
    if (files.length) await addFiles(files, paused);
    if (magnet) {
      await api('POST', '/torrents', { magnet, paused });
      toast('Added the magnet link');
    }
    $('#add-dialog').close();
  } catch (err) {
    $('#add-error').textContent = err.message;
  }
});

let dragDepth = 0;
const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
window.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  $('#drop').hidden = false;
});
window.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) $('#drop').hidden = true;
});
window.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  $('#drop').hidden = true;
  const files = [...e.dataTransfer.files].filter((f) => f.name.endsWith('.torrent'));
  if (!files.length) { toast('Drop .torrent files', true); return; }
  addFiles(files, false).catch(() => {});
});

// ---- session limits ----

$('#limits-open').addEventListener('click', () => act('limits', async () => {
  const l = await api('GET', '/session/limits');
  $('#limit-down').value = Math.round(l.download / 1024);
  $('#limit-up').value = Math.round(l.upload / 1024);
  $('#limits-error').textContent = '';
  $('#limits-dialog').showModal();
}));
$('#limits-cancel').addEventListener('click', () => $('#limits-dialog').close());
$('#limits-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const down = Number($('#limit-down').value || 0);
  const up = Number($('#limit-up').value || 0);
  if (!Number.isInteger(down) || !Number.isInteger(up) || down < 0 || up < 0) {
    $('#limits-error').textContent = 'Limits are whole numbers of KiB/s, 0 for none.';
    return;
  }
  try {
    await api('PUT', '/session/limits', { download: down * 1024, upload: up * 1024 });
    $('#limits-dialog').close();
    toast(`Limits: ↓ ${down ? `${down} KiB/s` : 'none'}, ↑ ${up ? `${up} KiB/s` : 'none'}`);
  } catch (err) {
    $('#limits-error').textContent = err.message;
  }
});

// ---- the detail pane ----

const TABS = ['files', 'peers', 'trackers', 'speed'];

function selectTab(name) {
  state.tab = name;
  for (const t of TABS) {
    const tab = $(`#tab-${t}`);
    tab.setAttribute('aria-selected', String(t === name));
    tab.tabIndex = t === name ? 0 : -1;
    $(`#panel-${t}`).hidden = t !== name;
  }
  refreshDetail();
}

for (const t of TABS) {
  const tab = $(`#tab-${t}`);
  tab.addEventListener('click', () => selectTab(t));
  tab.addEventListener('keydown', (e) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    const next = TABS[(TABS.indexOf(t) + step + TABS.length) % TABS.length];
    selectTab(next);
    $(`#tab-${next}`).focus();
  });
}

function openDetail(id) {
  const t = state.torrents.get(id);
  if (!t) return;
  for (const [rid, tr] of state.rows) tr.classList.toggle('selected', rid === id);
  state.selected = id;
  $('#detail-name').textContent = t.name;
  $('#detail').hidden = false;
  document.body.classList.add('with-detail');
  clearInterval(state.detailTimer);
  state.detailTimer = setInterval(refreshDetail, 2000);
  selectTab(state.tab);
}

function closeDetail() {
  const id = state.selected;
  state.selected = null;
  clearInterval(state.detailTimer);
  $('#detail').hidden = true;
  document.body.classList.remove('with-detail');
  for (const tr of state.rows.values()) tr.classList.remove('selected');
  const tr = state.rows.get(id);
  if (tr) tr.focus();
}

$('#detail-close').addEventListener('click', closeDetail);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.selected !== null && !document.querySelector('dialog[open]')) closeDetail();
});

async function refreshDetail() {
  const id = state.selected;
  if (id === null || !state.online) return;
  try {
    if (state.tab === 'files') renderFiles(id, await api('GET', `/torrents/${id}/files`));
    else if (state.tab === 'peers') renderPeers(await api('GET', `/torrents/${id}/peers`));
    else if (state.tab === 'trackers') renderTrackers(await api('GET', `/torrents/${id}/trackers`));
    else drawGraph();
  } catch (e) {
    if (e.status === 404) closeDetail();
  }
}

function fill(tbody, rows, emptyText, cols) {
  const focused = document.activeElement;
  if (tbody.contains(focused) && focused.tagName === 'SELECT') return; // a choice in progress
  tbody.replaceChildren(...rows);
  if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: String(cols), class: 'none', text: emptyText })));
}

const PRIORITIES = [[0, 'Skip'], [1, 'Low'], [4, 'Normal'], [7, 'High']];

function renderFiles(id, files) {
  if (state.selected !== id || state.tab !== 'files') return;
  const rows = files.map((f) => {
    const select = el('select', { 'aria-label': `Priority of ${f.path}`, 'data-index': String(f.index) });
    for (const [v, label] of PRIORITIES) {
      const o = el('option', { value: String(v), text: label });
      if (v === f.priority || (v === 4 && ![0, 1, 7].includes(f.priority))) o.selected = true;
      select.append(o);
    }
    select.addEventListener('change', () => act('priority', async () => {
      await api('PUT', `/torrents/${id}/files`, { indices: [f.index], priority: Number(select.value) });
      select.blur();
      refreshDetail();
    }));
    const done = f.size ? f.done / f.size : 1;
    return el('tr', { class: f.priority === 0 ? 'skipped' : '' },
      el('td', { 'data-label': 'File', class: 'path', text: f.path }),
      el('td', { 'data-label': 'Size', class: 'num', text: bytes(f.size) }),
      el('td', { 'data-label': 'Done', text: percent(done) }),
      el('td', { 'data-label': 'Priority' }, select));
  });
  const t = state.torrents.get(id);
  fill($('#files'), rows, t && t.has_metadata === false ? 'Waiting for the metadata…' : 'No files', 4);
}

function peerFlags(p) {
  let f = '';
  if (!p.peer_choking && p.am_interested) f += 'D'; else if (p.am_interested) f += 'd';
  if (!p.am_choking && p.peer_interested) f += 'U'; else if (p.peer_interested) f += 'u';
  if (p.encrypted) f += 'E';
  if (p.incoming) f += 'I';
  if (p.snubbed) f += 'S';
  return f;
}

function renderPeers(peers) {
  if (state.tab !== 'peers') return;
  const rows = peers.map((p) => el('tr', {},
    el('td', { 'data-label': 'Address', text: p.address }),
    el('td', { 'data-label': 'Client', text: p.client || '?' }),
    el('td', { 'data-label': 'Down', class: 'num', text: rate(p.download_rate) }),
    el('td', { 'data-label': 'Up', class: 'num', text: rate(p.upload_rate) }),
    el('td', { 'data-label': 'Has', class: 'num', text: percent(p.progress) }),
    el('td', { 'data-label': 'Flags', class: 'flags', text: peerFlags(p) })));
  fill($('#peers'), rows, 'No peers connected', 6);
}

function renderTrackers(t) {
  if (state.tab !== 'trackers') return;
  let status = 'not contacted yet';
  if (t.last_error) status = `error: ${t.last_error}`;
  else if (t.warning) status = `warning: ${t.warning}`;
  else if (t.last_announce) status = 'working';
  const rows = [];
  t.tiers.forEach((tier, i) => tier.forEach((url) => rows.push(el('tr', {},
    el('td', { 'data-label': 'Tier', text: String(i + 1) }),
    el('td', { 'data-label': 'URL', class: 'path', text: url }),
    el('td', { 'data-label': 'Status', text: status }),
    el('td', { 'data-label': 'Last announce', text: when(t.last_announce) }),
    el('td', { 'data-label': 'Next announce', text: when(t.next_announce) }),
    el('td', { 'data-label': 'Seeders', class: 'num', text: t.seeders == null ? '–' : String(t.seeders) }),
    el('td', { 'data-label': 'Leechers', class: 'num', text: t.leechers == null ? '–' : String(t.leechers) })))));
  fill($('#trackers'), rows, 'No trackers (peers come from the DHT, PEX or by hand)', 7);
}

// ---- the rate graph: one sample a second per torrent ----

function sampleRates() {
  const now = Date.now();
  for (const [id, t] of state.torrents) {
    let s = state.samples.get(id);
    if (!s) { s = []; state.samples.set(id, s); }
    s.push([now, t.download_rate, t.upload_rate]);
    while (s.length && now - s[0][0] > GRAPH_SECONDS * 1000) s.shift();
  }
  if (state.selected !== null && state.tab === 'speed') drawGraph();
}

function drawGraph() {
  const c = $('#graph');
  const ratio = window.devicePixelRatio || 1;
  const w = c.clientWidth || 640;
  const h = c.clientHeight || 180;
  if (c.width !== Math.round(w * ratio)) { c.width = Math.round(w * ratio); c.height = Math.round(h * ratio); }
  const g = c.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  const css = getComputedStyle(document.body);
  const s = state.samples.get(state.selected) || [];
  const peak = Math.max(1024, ...s.map((x) => Math.max(x[1], x[2])));
  g.strokeStyle = css.getPropertyValue('--line');
  g.lineWidth = 1;
  for (let i = 1; i < 4; i++) {
    g.beginPath(); g.moveTo(0, (h * i) / 4); g.lineTo(w, (h * i) / 4); g.stroke();
  }
  const now = Date.now();
  const x = (t) => w - ((now - t) / (GRAPH_SECONDS * 1000)) * w;
  const y = (v) => h - 4 - (v / peak) * (h - 12);
  for (const [k, color] of [[1, '--dl'], [2, '--ul']]) {
    g.strokeStyle = css.getPropertyValue(color);
    g.lineWidth = 2;
    g.beginPath();
    s.forEach((p, i) => (i ? g.lineTo(x(p[0]), y(p[k])) : g.moveTo(x(p[0]), y(p[k]))));
    g.stroke();
  }
  $('#graph-peak').textContent = `· top of the graph ${rate(peak)} · last ${GRAPH_SECONDS / 60} minutes`;
}

boot();
