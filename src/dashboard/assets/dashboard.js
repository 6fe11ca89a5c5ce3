// The dashboard page. Plain script, no build step: it is served as it is written. Every value
// from the server is put in the page as text (textContent), never as HTML: a denied key is
// whatever a client sent.
;(() => {
  const TOKEN_KEY = 'diana-dashboard-token'
  const SERIES = ['allowed', 'denied', 'shadowDenied', 'nearLimit']
  const LABELS = {
    allowed: 'allowed',
    denied: 'denied',
    shadowDenied: 'shadow-denied',
    nearLimit: 'near limit',
  }
  const COLORS = { allowed: '#2e7d32', denied: '#c62828', shadowDenied: '#8e24aa', nearLimit: '#ef6c00' }
  const $ = (id) => document.getElementById(id)

  /** Per rule: { card, chart, xs, data: {allowed: [], ...}, topBody, totals } */
  const rules = new Map()
  let windowSeconds = 300
  let lastSecond = 0
  let controller
  let retryTimer
  let editorBase
  let editorLoaded = false

  const token = () => sessionStorage.getItem(TOKEN_KEY)
  const headers = () => ({ Authorization: `Bearer ${token()}`, 'X-Diana-Dashboard': '1' })

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag)
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'text') node.textContent = value
      else node.setAttribute(name, value)
    }
    for (const child of children) node.append(child)
    return node
  }

  function setConnection(text, kind) {
    const pill = $('connection')
    pill.textContent = text
    pill.className = `pill ${kind || ''}`
  }

  function showLogin(message) {
    if (controller) controller.abort()
    clearTimeout(retryTimer)
    $('content').hidden = true
    $('login').hidden = false
    $('sign-out').hidden = true
    $('login-error').textContent = message || ''
    setConnection('not connected', 'down')
    $('token').focus()
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const value = $('token').value.trim()
    if (value === '') return
    sessionStorage.setItem(TOKEN_KEY, value)
    $('token').value = ''
    connect()
  })

  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY)
    showLogin('')
  })

  async function connect() {
    clearTimeout(retryTimer)
    if (controller) controller.abort()
    if (!token()) return showLogin('')
    controller = new AbortController()
    const signal = controller.signal
    setConnection('connecting', '')
    let response
    try {
      response = await fetch('api/stream', { headers: headers(), signal, cache: 'no-store' })
    } catch {
      return retry('cannot reach the server')
    }
    if (response.status === 401 || response.status === 403) {
      const body = await response.json().catch(() => ({}))
      sessionStorage.removeItem(TOKEN_KEY)
      return showLogin(`Refused: ${body.error || response.status}`)
    }
    if (!response.ok || !response.body) {
      const body = await response.json().catch(() => ({}))
      return retry(body.error || `HTTP ${response.status}`)
    }
    $('login').hidden = true
    $('content').hidden = false
    $('sign-out').hidden = false
    setConnection('live', 'live')
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          onMessage(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf('\n\n')
        }
      }
    } catch {
      if (signal.aborted) return
    }
    retry('connection lost')
  }

  function retry(why) {
    setConnection(`${why}; retrying`, 'down')
    clearTimeout(retryTimer)
    retryTimer = setTimeout(connect, 2000)
  }

  function onMessage(block) {
    let event = 'message'
    let data = ''
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data += line.slice(6)
    }
    const message = JSON.parse(data)
    if (event === 'state') onState(message)
    else if (event === 'tick') onTick(message)
  }

  function onState(state) {
    windowSeconds = state.rules[0] ? state.rules[0].allowed.length : windowSeconds
    lastSecond = state.second
    for (const rule of state.rules) {
      const entry = ruleEntry(rule.name)
      entry.xs = range(lastSecond - windowSeconds + 1, lastSecond)
      for (const series of SERIES) entry.data[series] = rule[series].slice()
      entry.inForce = rule.inForce
      render(entry)
      renderTop(entry, rule.top)
    }
    renderStatus(state.status)
  }

  function onTick(tick) {
    const second = tick.second
    if (second <= lastSecond) return
    for (const name of Object.keys(tick.rules)) ruleEntry(name)
    for (const [name, entry] of rules) {
      const counts = tick.rules[name] || [0, 0, 0, 0]
      // Seconds with no tick (a stalled tab) are filled with zeros.
      for (let s = lastSecond + 1; s <= second; s++) {
        entry.xs.push(s)
        SERIES.forEach((series, i) => {
          entry.data[series].push(s === second ? counts[i] : 0)
        })
      }
      while (entry.xs.length > windowSeconds) {
        entry.xs.shift()
        for (const series of SERIES) entry.data[series].shift()
      }
      render(entry)
      renderTop(entry, tick.top[name] || [])
    }
    lastSecond = second
    renderStatus(tick.status)
  }

  function range(from, to) {
    const out = []
    for (let s = from; s <= to; s++) out.push(s)
    return out
  }

  function ruleEntry(name) {
    let entry = rules.get(name)
    if (entry) return entry
    const id = `rule-${rules.size}`
    const totals = el('div', { class: 'totals' })
    const totalCells = {}
    for (const series of SERIES) {
      const b = el('b', { 'data-testid': `total-${series}-${name}`, text: '0' })
      totalCells[series] = b
      totals.append(b, ` ${LABELS[series]}  `)
    }
    const chartBox = el('div', { class: 'chart', id })
    const topBody = el('tbody')
    const card = el(
      'article',
      { class: 'card rule', 'data-testid': `rule-${name}` },
      el('header', {}, el('h3', { text: name })),
      totals,
      chartBox,
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { text: 'top denied keys (5 min)' }),
            el('th', { class: 'num', text: 'denied' }),
          ),
        ),
        topBody,
      ),
    )
    $('rules').append(card)
    const xs = range(lastSecond - windowSeconds + 1, lastSecond)
    entry = { name, card, chartBox, topBody, totalCells, xs, data: {}, chart: undefined }
    for (const series of SERIES) entry.data[series] = new Array(xs.length).fill(0)
    rules.set(name, entry)
    return entry
  }

  function render(entry) {
    for (const series of SERIES) {
      entry.totalCells[series].textContent = String(entry.data[series].reduce((a, b) => a + b, 0))
    }
    const data = [entry.xs, ...SERIES.map((series) => entry.data[series])]
    if (entry.chart) {
      entry.chart.setData(data)
      return
    }
    if (typeof uPlot !== 'function') return
    const width = Math.max(300, entry.chartBox.clientWidth || 360)
    entry.chart = new uPlot(
      {
        width,
        height: 130,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [
          { size: 24, font: '10px system-ui' },
          { size: 36, font: '10px system-ui' },
        ],
        series: [
          {},
          ...SERIES.map((series) => ({
            label: LABELS[series],
            stroke: COLORS[series],
            width: 1.5,
            points: { show: false },
          })),
        ],
      },
      data,
      entry.chartBox,
    )
  }

  function renderTop(entry, top) {
    const rows = top.map((item) =>
      el(
        'tr',
        {},
        el('td', { class: 'key', text: item.key }),
        el('td', { class: 'num', text: item.error > 0 ? `≤ ${item.count}` : String(item.count) }),
      ),
    )
    if (rows.length === 0)
      rows.push(el('tr', {}, el('td', { class: 'empty', colspan: '2', text: 'none denied' })))
    entry.topBody.replaceChildren(...rows)
  }

  function pairs(list, box) {
    box.replaceChildren(
      ...list.flatMap(([term, value, cls]) => [
        el('dt', { text: term }),
        el('dd', { text: value, class: cls || '' }),
      ]),
    )
  }

  function when(ms) {
    return new Date(ms).toLocaleTimeString()
  }

  function renderStatus(status) {
    $('limiter-name').textContent = status.limiter
    const store = status.store
    pairs(
      [
        ['kind', store.shared ? 'shared (Redis)' : 'this process (memory)'],
        [
          'state',
          store.degraded ? 'degraded: breaker open, deciding locally' : 'healthy',
          store.degraded ? 'bad' : 'good',
        ],
        ['instances seen', store.instances === undefined ? 'n/a' : String(store.instances)],
        [
          'last event',
          status.storeEvent
            ? `${status.storeEvent.event} at ${when(status.storeEvent.at)} (${status.storeEvent.detail})`
            : 'none',
        ],
      ],
      $('store'),
    )
    const config = status.config
    pairs(
      config
        ? [
            ['source', config.source || '?'],
            ['version', `${config.version} (${config.hash})`],
            ['file', config.file ? `${config.file}${config.watched ? ' (watched)' : ''}` : 'none'],
            ['remote', config.remotes.length > 0 ? config.remotes.join(', ') : 'none'],
            [
              'last error',
              config.lastError ? `${when(config.lastError.at)}: ${config.lastError.message}` : 'none',
              config.lastError ? 'bad' : '',
            ],
          ]
        : [
            ['source', 'rules given in code'],
            ['version', String(status.rulesVersion)],
          ],
      $('config'),
    )
    if (status.allowEdits && !editorLoaded) {
      editorLoaded = true
      $('editor').hidden = false
      loadEditor()
    }
  }

  async function api(path, body) {
    const init =
      body === undefined
        ? { headers: headers() }
        : {
            method: 'POST',
            headers: { ...headers(), 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          }
    const response = await fetch(path, { ...init, cache: 'no-store' })
    const json = await response.json().catch(() => ({ error: `HTTP ${response.status}` }))
    if (response.status === 401) showLogin(`Refused: ${json.error}`)
    return { ok: response.ok, json }
  }

  async function loadEditor() {
    const { ok, json } = await api('api/rules')
    if (!ok) return editorMessage(json.error, true)
    $('editor-text').value = json.text
    editorBase = json.base
    $('editor-target').textContent =
      json.target.kind === 'file'
        ? `Editing ${json.target.path}: applying writes it, and the hot reload puts it in force.`
        : json.target.kind === 'memory'
          ? 'Editing the rules in memory (they were given in code): applying puts them in force until the process restarts.'
          : `Edits cannot be applied: ${json.target.reason}`
    $('editor-apply').disabled = true
    $('editor-diff').replaceChildren()
    editorMessage('', false)
  }

  function editorMessage(text, bad) {
    const box = $('editor-message')
    box.textContent = text
    box.className = bad ? 'error' : ''
  }

  function showDiff(diff) {
    $('editor-diff').replaceChildren(
      ...(diff || []).map((line) =>
        el('span', {
          class: line.op === '+' ? 'add' : line.op === '-' ? 'del' : '',
          text: `${line.op} ${line.text}\n`,
        }),
      ),
    )
  }

  $('editor-text').addEventListener('input', () => {
    $('editor-apply').disabled = true
  })
  $('editor-reload').addEventListener('click', loadEditor)
  $('editor-check').addEventListener('click', async () => {
    const { ok, json } = await api('api/rules/preview', { text: $('editor-text').value, base: editorBase })
    showDiff(json.diff)
    if (!ok) return editorMessage(json.error, true)
    const warning = json.warnings ? ` Careful: this edit ${json.warnings.join('; ')}.` : ''
    editorMessage(json.changed ? `Valid.${warning} Review the diff, then apply.` : 'No change.', !!warning)
    $('editor-apply').disabled = !json.changed
  })
  $('editor-apply').addEventListener('click', async () => {
    $('editor-apply').disabled = true
    const { ok, json } = await api('api/rules/apply', { text: $('editor-text').value, base: editorBase })
    showDiff(json.diff)
    if (!ok) return editorMessage(json.error, true)
    editorMessage(`Applied: ${json.message}${json.version ? ` (version ${json.version})` : ''}.`, false)
    const reloaded = await api('api/rules')
    if (reloaded.ok) editorBase = reloaded.json.base
  })

  connect()
})()
