// Bulwark page scripts: the charts, the interactive dependency graph and
// the assessment editor's save-as-you-go.
//
// Loaded with defer from /static/, like everything else: no page has an
// inline script or event handler, so the Content Security Policy can forbid
// them. Data comes from data- attributes (charts) or a same-origin JSON
// fetch (graph). Every name that reaches HTML (tooltips) is escaped here,
// because ECharts tooltips are HTML.
(function () {
  'use strict';

  var ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(s) {
    return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }
  function num(n) {
    return Number(n || 0).toLocaleString('en-US');
  }

  // Palette shared with bulwark.css.
  var COLORS = {
    service: '#2f5fa7',
    system: '#2a8a7e',
    asset: '#8a94a6',
    spof: '#d03b3b',
    commonMode: '#e8871e',
    bar: '#2f5fa7'
  };

  // SSVC decision colours, shared with the chips in bulwark.css.
  var DECISIONS = { 'Act': '#d03b3b', 'Attend': '#e8871e', 'Track*': '#f5d547', 'Track': '#b8c0cc' };

  // Pages hide what only script-less browsers need (the per-control save
  // buttons of the assessment editor).
  document.documentElement.classList.add('js');

  // --- bar charts (dashboard, criticality, findings) ----------------------

  // drawLine draws {labels: [..], values: [..]} as a line (the readiness
  // trend, 0–100).
  function drawLine(el, data) {
    var series = el.getAttribute('data-chart-series') || '';
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 50, right: 24, top: 20, bottom: 60 },
      tooltip: {
        trigger: 'axis',
        formatter: function (params) {
          var p = params[0];
          return p ? esc(p.name) + '<br>' + esc(series) + ': <b>' + esc(p.value) + '</b>' : '';
        }
      },
      xAxis: { type: 'category', data: data.labels || [], boundaryGap: false, axisLabel: { fontSize: 11, rotate: 25 } },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { fontSize: 11 } },
      series: [{ name: series, type: 'line', data: data.values || [], showSymbol: true, symbolSize: 6,
        lineStyle: { color: COLORS.bar, width: 2 }, itemStyle: { color: COLORS.bar }, areaStyle: { color: 'rgba(47,95,167,0.08)' } }]
    });
    el.setAttribute('data-ready', '1');
    window.addEventListener('resize', function () { chart.resize(); });
  }

  // drawStacked draws {labels: [..], series: [{name, values}]} as stacked
  // bars, one colour per series (SSVC decisions have theirs).
  function drawStacked(el, data) {
    var labels = data.labels || [];
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 50, right: 24, top: 36, bottom: 90 },
      legend: { top: 4, textStyle: { fontSize: 12 } },
      tooltip: {
        trigger: 'axis',
        axisPointer: { type: 'shadow' },
        formatter: function (params) {
          var lines = [esc(params.length ? params[0].name : '')];
          params.forEach(function (p) {
            if (p.value) { lines.push(esc(p.seriesName) + ': <b>' + esc(num(p.value)) + '</b>'); }
          });
          return lines.join('<br>');
        }
      },
      xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, width: 90, overflow: 'truncate', rotate: 35, fontSize: 11 } },
      yAxis: { type: 'value', minInterval: 1, axisLabel: { fontSize: 11 } },
      series: (data.series || []).map(function (s) {
        return { name: String(s.name), type: 'bar', stack: 'total', data: s.values || [], barMaxWidth: 36,
          itemStyle: { color: DECISIONS[s.name] || COLORS.bar } };
      })
    });
    el.setAttribute('data-ready', '1');
    window.addEventListener('resize', function () { chart.resize(); });
  }

  // drawExceedance draws a loss exceedance curve {points: [[loss, p], ..]}
  // with a log loss axis: the probability that a year's loss reaches
  // each amount (the risk analysis).
  function drawExceedance(el, data) {
    var points = (data.points || []).filter(function (p) { return p[0] > 0; });
    var series = el.getAttribute('data-chart-series') || '';
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 60, right: 24, top: 20, bottom: 50 },
      tooltip: {
        trigger: 'axis',
        formatter: function (params) {
          var p = params[0];
          if (!p) { return ''; }
          return 'Loss ≥ <b>' + esc(num(Math.round(p.value[0]))) + '</b><br>' + esc(series) + ': <b>' + esc((100 * p.value[1]).toFixed(1)) + ' %</b>';
        }
      },
      xAxis: { type: 'log', min: function (v) { return v.min; }, max: function (v) { return v.max; }, name: 'annual loss', nameLocation: 'middle', nameGap: 30, axisLabel: { fontSize: 11, formatter: function (v) { return num(v); } } },
      yAxis: { type: 'value', min: 0, max: 1, axisLabel: { fontSize: 11, formatter: function (v) { return Math.round(100 * v) + ' %'; } } },
      series: [{ name: series, type: 'line', data: points, showSymbol: false, smooth: false,
        lineStyle: { color: COLORS.spof, width: 2 }, areaStyle: { color: 'rgba(208,59,59,0.08)' } }]
    });
    el.setAttribute('data-points', String(points.length));
    el.setAttribute('data-ready', '1');
    window.addEventListener('resize', function () { chart.resize(); });
  }

  function initCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll('[data-chart]').forEach(function (el) {
      if (el.getAttribute('data-ready')) { return; }
      var data;
      try {
        data = JSON.parse(el.getAttribute('data-chart-data') || '{}');
      } catch (e) {
        el.textContent = 'The chart data is malformed.';
        return;
      }
      if (el.getAttribute('data-chart') === 'stacked') {
        drawStacked(el, data);
        return;
      }
      if (el.getAttribute('data-chart') === 'line') {
        drawLine(el, data);
        return;
      }
      if (el.getAttribute('data-chart') === 'exceedance') {
        drawExceedance(el, data);
        return;
      }
      var labels = data.labels || [];
      var values = data.values || [];
      var horizontal = el.getAttribute('data-chart') === 'hbar';
      var series = el.getAttribute('data-chart-series') || '';
      var category = {
        type: 'category',
        data: horizontal ? labels.slice().reverse() : labels,
        axisLabel: { interval: 0, width: horizontal ? 180 : 90, overflow: 'truncate', rotate: horizontal ? 0 : 35, fontSize: 11 }
      };
      var value = { type: 'value', axisLabel: { fontSize: 11 } };
      var chart = window.echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption({
        animation: false,
        grid: { left: horizontal ? 190 : 50, right: 24, top: 16, bottom: horizontal ? 30 : 90 },
        tooltip: {
          trigger: 'axis',
          axisPointer: { type: 'shadow' },
          formatter: function (params) {
            var p = params[0];
            return esc(p.name) + '<br>' + esc(series) + ': <b>' + esc(num(p.value)) + '</b>';
          }
        },
        xAxis: horizontal ? value : category,
        yAxis: horizontal ? category : value,
        series: [{
          name: series,
          type: 'bar',
          data: horizontal ? values.slice().reverse() : values,
          itemStyle: { color: COLORS.bar, borderRadius: 2 },
          barMaxWidth: 28
        }]
      });
      el.setAttribute('data-ready', '1');
      window.addEventListener('resize', function () { chart.resize(); });
    });
  }

  // --- the dependency graph of a service ----------------------------------

  var CATEGORIES = [
    { name: 'Service', itemStyle: { color: COLORS.service } },
    { name: 'System', itemStyle: { color: COLORS.system } },
    { name: 'Asset', itemStyle: { color: COLORS.asset } },
    { name: 'Single point of failure', itemStyle: { color: COLORS.spof } },
    { name: 'Common-mode', itemStyle: { color: COLORS.commonMode } }
  ];

  // The affected part of the graph on an incident page colours nodes by
  // what the incident does to them.
  var INCIDENT_CATEGORIES = [
    { name: 'Down', itemStyle: { color: '#d03b3b' } },
    { name: 'Degraded', itemStyle: { color: '#e8871e' } },
    { name: 'Compromised', itemStyle: { color: '#7b3fa0' } },
    { name: 'At risk', itemStyle: { color: '#d9b400' } }
  ];
  var STATES = { 'down': 0, 'degraded': 1, 'compromised': 2, 'at-risk': 3 };

  function nodeCategory(n) {
    // A common-mode node is also a SPOF; it is drawn in its own colour.
    if (n.common_mode) { return 4; }
    if (n.spof) { return 3; }
    if (n.kind === 'service') { return 0; }
    if (n.kind === 'system') { return 1; }
    return 2;
  }

  function nodeSize(n, root) {
    if (n.id === root) { return 36; }
    if (n.kind === 'service') { return 26; }
    if (n.kind === 'system') { return 20; }
    return 12 + Math.min(10, Math.log10(Math.max(1, n.count || 1)) * 4);
  }

  function nodeTooltip(n) {
    var lines = ['<b>' + esc(n.name || n.id) + '</b>', esc(n.id),
      'Kind: ' + esc(n.kind), 'Owner: ' + esc(n.owner)];
    if (n.category) { lines.push('Category: ' + esc(n.category)); }
    if (n.count > 1) { lines.push('Fleet: ' + esc(num(n.count))); }
    if (n.spof) { lines.push('<b class="tip-spof">Single point of failure</b>'); }
    if (n.common_mode) { lines.push('<b class="tip-cm">Common-mode point of failure</b>'); }
    if (n.findings > 0) {
      lines.push('<b class="tip-spof">Findings: ' + esc(num(n.findings)) + ' (worst ' + esc(n.worst_decision) + ')</b>' +
        (n.kind !== 'asset' || n.exposed_assets > 1 ? ' on ' + esc(num(n.exposed_assets)) + ' assets' : ''));
    } else if (n.exposed_assets > 0) {
      lines.push('<b class="tip-spof">Exposed through ' + esc(num(n.exposed_assets)) + ' asset' + (n.exposed_assets === 1 ? '' : 's') + '</b>');
    }
    return lines.join('<br>');
  }

  function drawGraph(el, g) {
    var nodes = [];
    var known = {};
    var spofs = 0;
    var common = 0;
    var exposed = 0;
    var incident = typeof g.incident === 'string';
    var categories = incident ? INCIDENT_CATEGORIES : CATEGORIES;
    var down = 0;
    (g.nodes || []).forEach(function (n) {
      known[n.id] = true;
      var cat = incident ? (STATES.hasOwnProperty(n.state) ? STATES[n.state] : 3) : nodeCategory(n);
      if (incident && cat === 0) { down++; }
      if (cat === 3) { spofs++; }
      if (cat === 4) { common++; }
      var d = {
        id: n.id,
        name: n.name || n.id,
        category: cat,
        symbolSize: nodeSize(n, g.service),
        symbol: n.kind === 'service' ? 'roundRect' : (n.kind === 'system' ? 'diamond' : 'circle'),
        raw: n
      };
      // Open findings: a red ring on the exposed assets, a thin one on
      // what depends on them.
      if (incident && n.entered) {
        d.itemStyle = { borderColor: '#1f2933', borderWidth: 3 };
      } else if (n.findings > 0) {
        exposed++;
        d.itemStyle = { borderColor: DECISIONS[n.worst_decision] || COLORS.spof, borderWidth: 4 };
      } else if (n.exposed_assets > 0) {
        d.itemStyle = { borderColor: COLORS.spof, borderWidth: 2, borderType: 'dashed' };
      }
      nodes.push(d);
    });
    // Large graphs label only what matters: services, systems and the
    // points of failure.
    var crowded = nodes.length > 80;
    nodes.forEach(function (d) {
      if (!incident && d.category >= 3) {
        d.symbolSize += 6;
      }
      if (crowded) {
        d.label = { show: d.category !== 2 };
      }
    });
    var links = [];
    (g.edges || []).forEach(function (e) {
      if (!known[e.from] || !known[e.to]) { return; }
      links.push({
        source: e.from,
        target: e.to,
        raw: e,
        lineStyle: { type: e.kind === 'soft' ? 'dashed' : 'solid' }
      });
    });

    el.textContent = '';
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      tooltip: {
        confine: true,
        formatter: function (p) {
          if (p.dataType === 'node') {
            return nodeTooltip(p.data.raw) + (incident ? '<br><b>' + esc(p.data.raw.state) + '</b>' + (p.data.raw.entered ? ' (entered)' : '') : '');
          }
          if (p.dataType === 'edge') {
            var e = p.data.raw;
            return esc(e.from) + ' depends on ' + esc(e.to) + ' (' + esc(e.kind) + (e.group ? ', group ' + esc(e.group) : '') + ')';
          }
          return '';
        }
      },
      legend: [{ data: categories.map(function (c) { return c.name; }), top: 6, itemGap: 14, textStyle: { fontSize: 12 } }],
      series: [{
        type: 'graph',
        layout: 'force',
        roam: true,
        draggable: true,
        data: nodes,
        links: links,
        categories: categories,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 6,
        top: 40,
        bottom: 10,
        zoom: crowded ? 0.8 : 1,
        force: crowded ? { repulsion: 80, edgeLength: [20, 64], gravity: 0.25, friction: 0.2 }
          : { repulsion: 140, edgeLength: [40, 110], gravity: 0.06, friction: 0.2 },
        label: { show: true, position: 'right', fontSize: 11, color: '#333' },
        labelLayout: { hideOverlap: true },
        emphasis: { focus: 'adjacency', lineStyle: { width: 2 } },
        lineStyle: { color: '#9aa3b2', opacity: crowded ? 0.35 : 0.8, curveness: 0.08 },
        scaleLimit: { min: 0.2, max: 6 }
      }]
    });
    chart.on('dblclick', function (p) {
      var href = p.dataType === 'node' && p.data.raw.href;
      if (href && href.charAt(0) === '/' && href.charAt(1) !== '/') { window.location.assign(href); }
    });
    window.addEventListener('resize', function () { chart.resize(); });

    el.setAttribute('data-nodes', String(nodes.length));
    el.setAttribute('data-edges', String(links.length));
    el.setAttribute('data-spofs', String(spofs));
    el.setAttribute('data-common-mode', String(common));
    el.setAttribute('data-exposed', String(exposed));
    if (incident) { el.setAttribute('data-down', String(down)); }
    el.setAttribute('data-ready', '1');
    var note = document.getElementById('graph-note');
    if (note && incident && g.hidden > 0) {
      note.textContent = g.hidden + ' affected entit' + (g.hidden === 1 ? 'y' : 'ies') + ' of organizations whose city model you do not see ' + (g.hidden === 1 ? 'is' : 'are') + ' not drawn.';
      note.hidden = false;
    }
    if (note && g.truncated) {
      note.textContent = 'The graph is large: identical asset leaves are grouped into one node and the farthest nodes may be left out. The table below lists every single point of failure.';
      note.hidden = false;
    }
  }

  function initGraph(el) {
    if (!window.echarts || el.getAttribute('data-ready')) { return; }
    var src = el.getAttribute('data-graph-src');
    if (!src || src.charAt(0) !== '/' || src.charAt(1) === '/') { return; }
    fetch(src, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.json();
      })
      .then(function (g) { drawGraph(el, g); })
      .catch(function (err) {
        el.textContent = 'The graph could not be loaded (' + err.message + ').';
        el.setAttribute('data-error', '1');
      });
  }

  // --- the assessment editor ---------------------------------------------

  // Each control is a form of its own that also works without script (its
  // Save button posts it). With script, a change to a field saves that
  // control at once with a same-origin fetch of the same form, answered in
  // JSON: the row shows "saved rev N", or the conflict when someone else
  // changed the control since the page was loaded. Saves of one control
  // are queued, so that each is based on the revision the previous one
  // made.

  function setState(form, text, kind) {
    var st = form.querySelector('.save-state');
    if (!st) { return; }
    st.textContent = text;
    st.className = 'save-state' + (kind ? ' ' + kind : '');
  }

  function offerReload(form) {
    var st = form.querySelector('.save-state');
    if (!st || st.querySelector('button')) { return; }
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'reload secondary';
    b.textContent = 'Reload the page';
    b.addEventListener('click', function () { window.location.reload(); });
    st.appendChild(document.createTextNode(' '));
    st.appendChild(b);
  }

  function hidden(name, value) {
    var i = document.createElement('input');
    i.type = 'hidden';
    i.name = name;
    i.value = value === undefined || value === null ? '' : String(value);
    return i;
  }

  // renderEvidence rebuilds the evidence list from the saved result, with
  // the hidden fields that carry it into the next save. Only text nodes
  // and attributes are set: nothing is parsed as HTML.
  function renderEvidence(form, evidence) {
    var ul = form.querySelector('.evidence-list');
    if (!ul) { return; }
    while (ul.firstChild) { ul.removeChild(ul.firstChild); }
    (evidence || []).forEach(function (e, i) {
      var li = document.createElement('li');
      li.appendChild(hidden('ev_kind', e.kind));
      li.appendChild(hidden('ev_title', e.title));
      li.appendChild(hidden('ev_url', e.url));
      li.appendChild(hidden('ev_sha256', e.sha256));
      li.appendChild(hidden('ev_size', e.size || 0));
      var t;
      if (e.href && /^https?:\/\//i.test(e.href)) {
        t = document.createElement('a');
        t.href = e.href;
        t.rel = 'noopener noreferrer nofollow';
        t.target = '_blank';
      } else {
        t = document.createElement('span');
        t.className = 'ev-title';
      }
      t.textContent = e.title;
      li.appendChild(t);
      var k = document.createElement('span');
      k.className = 'muted';
      k.textContent = ' ' + e.kind + ' ';
      li.appendChild(k);
      var lab = document.createElement('label');
      lab.className = 'check';
      var cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.name = 'ev_remove';
      cb.value = String(i);
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(' remove'));
      li.appendChild(lab);
      ul.appendChild(li);
    });
  }

  function save(form) {
    var action = form.getAttribute('action') || '';
    if (action.charAt(0) !== '/' || action.charAt(1) === '/') { return Promise.resolve(); }
    var body = new URLSearchParams(new FormData(form));
    setState(form, 'saving…', 'saving');
    return fetch(action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: body.toString()
    }).then(function (r) {
      // A redirect means the session ended (the login page answered).
      if (r.redirected || (r.headers.get('Content-Type') || '').indexOf('application/json') !== 0) {
        return { status: r.redirected ? 401 : r.status, body: { error: r.redirected ?
          'Not saved: your session has ended. Log in again in another tab, then repeat the change.' : 'Not saved (HTTP ' + r.status + ').' } };
      }
      return r.json().catch(function () { return { error: 'HTTP ' + r.status }; }).then(function (j) { return { status: r.status, body: j }; });
    }).then(function (res) {
      var j = res.body || {};
      if (res.status === 200 && typeof j.rev === 'number') {
        form.querySelector('.base-rev').value = String(j.rev);
        var rev = form.querySelector('.rev');
        if (rev) { rev.textContent = 'rev ' + j.rev + ' by ' + j.assessor + ', ' + j.at; }
        form.setAttribute('data-rev', String(j.rev));
        form.classList.remove('ctl-error', 'ctl-conflict');
        var nt = form.querySelector('[name="new_title"]');
        var nu = form.querySelector('[name="new_url"]');
        if (nt) { nt.value = ''; }
        if (nu) { nu.value = ''; }
        renderEvidence(form, j.evidence);
        setState(form, 'saved rev ' + j.rev, 'saved');
        return;
      }
      form.classList.add(res.status === 409 ? 'ctl-conflict' : 'ctl-error');
      setState(form, j.error || ('HTTP ' + res.status), 'error');
      if (res.status === 409) { offerReload(form); }
    }).catch(function (err) {
      form.classList.add('ctl-error');
      setState(form, 'Not saved: ' + err.message, 'error');
    });
  }

  function queueSave(form) {
    form.__queue = (form.__queue || Promise.resolve()).then(function () { return save(form); });
  }

  function initEditor(root) {
    var ed = root.querySelector ? root.querySelector('[data-editor]') : null;
    if (!ed || ed.getAttribute('data-ready')) { return; }
    ed.setAttribute('data-ready', '1');
    ed.addEventListener('change', function (e) {
      var t = e.target;
      var form = t.form;
      // New evidence is saved by its button or Enter: a title alone
      // would otherwise be saved as a note before its link is typed.
      if (!form || t.name === 'new_title' || t.name === 'new_url') { return; }
      queueSave(form);
    });
    ed.addEventListener('submit', function (e) {
      e.preventDefault();
      queueSave(e.target);
    });
    // Alt+ArrowDown / Alt+ArrowUp: the same field of the next or previous
    // control.
    ed.addEventListener('keydown', function (e) {
      if (!e.altKey || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) { return; }
      var t = e.target;
      var form = t.form || (t.closest && t.closest('form.ctl'));
      if (!form) { return; }
      var forms = Array.prototype.slice.call(ed.querySelectorAll('form.ctl'));
      var next = forms[forms.indexOf(form) + (e.key === 'ArrowDown' ? 1 : -1)];
      if (!next) { return; }
      var target = (t.name && next.querySelector('[name="' + t.name + '"]:not([type="hidden"])')) || next.querySelector('.ctl-id');
      if (target) {
        e.preventDefault();
        target.focus();
        next.scrollIntoView({ block: 'nearest' });
      }
    });
  }

  function init(root) {
    initCharts(root);
    root.querySelectorAll('[data-graph-src]').forEach(initGraph);
    initEditor(root);
  }

  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:afterSettle', function (e) { init(e.target); });
}());
