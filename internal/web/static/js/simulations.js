// Bulwark simulation pages: the charts of a finished run and the timeline
// of one trial on the dependency graph.
//
// Loaded with defer from /static/ by the simulation pages (no inline
// script: the Content Security Policy forbids it). Chart data comes from
// data-chart-data attributes written by the server; the timeline fetches
// /simulations/{id}/trace.json. Every name that reaches HTML (tooltips) is
// escaped here, and the step log is built with text nodes only.
(function () {
  'use strict';

  var ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(s) {
    return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }
  function fix(x, d) { return Number(x).toFixed(d); }
  function num(n) { return Number(n || 0).toLocaleString('en-US', { maximumFractionDigits: 0 }); }
  function short(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '…' : s; }
  function interval(i, d) { return i ? fix(i.e, d) + ' [' + fix(i.l, d) + ', ' + fix(i.h, d) + ']' : '–'; }

  var COLORS = { rto: '#2f5fa7', mtd: '#d03b3b', goal: '#2a8a7e', bar: '#2f5fa7' };
  var CURVE_COLORS = ['#2f5fa7', '#d03b3b', '#e8871e', '#2a8a7e', '#7a4fa3', '#8a6d3b', '#3b8ab8', '#b83b7a'];

  function ready(el, chart) {
    el.setAttribute('data-ready', '1');
    window.addEventListener('resize', function () { chart.resize(); });
  }

  // whisker draws a 95 % interval [value(0), value(1)] at height value(2)
  // of a value y axis (a forest plot: categories are integers).
  function whisker(color) {
    return function (params, api) {
      var y = api.coord([0, api.value(2)])[1];
      var x1 = api.coord([api.value(0), 0])[0];
      var x2 = api.coord([api.value(1), 0])[0];
      var line = function (a, b, c, d) { return { type: 'line', shape: { x1: a, y1: b, x2: c, y2: d }, style: { stroke: color, lineWidth: 2 } }; };
      return { type: 'group', children: [line(x1, y, x2, y), line(x1, y - 4, x1, y + 4), line(x2, y - 4, x2, y + 4)] };
    };
  }

  // forest draws rows of estimates with their intervals: rows is
  // [{label, tip, series: [{name, color, i: {e,l,h}}]}]; the x axis is
  // xName over [min, max] (max null: fitted).
  function forest(el, rows, names, xName, min, max, digits) {
    var n = rows.length;
    var series = [];
    names.forEach(function (s, k) {
      var off = names.length > 1 ? (k - (names.length - 1) / 2) * 0.28 : 0;
      var pts = [], bars = [];
      rows.forEach(function (r, i) {
        var v = r.values[k];
        if (!v) { return; }
        pts.push({ value: [v.e, i + off], tip: r.tip, what: s.name, i: v });
        bars.push([v.l, v.h, i + off]);
      });
      series.push({ name: s.name, type: 'custom', renderItem: whisker(s.color), data: bars, silent: true, z: 2, yAxisIndex: 1, itemStyle: { color: s.color } });
      series.push({ name: s.name, type: 'scatter', data: pts, symbolSize: 9, itemStyle: { color: s.color }, z: 3, yAxisIndex: 1 });
    });
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 200, right: 30, top: 34, bottom: 44 },
      legend: { top: 4, data: names.map(function (s) { return s.name; }), textStyle: { fontSize: 12 } },
      tooltip: {
        confine: true, // no positioned arrow: its markup has an inline style
        trigger: 'item',
        formatter: function (p) {
          var d = p.data || {};
          return esc(d.tip) + '<br>' + esc(d.what) + ': <b>' + esc(interval(d.i, digits)) + '</b>';
        }
      },
      xAxis: { type: 'value', min: min, max: max === null ? undefined : max, name: xName, nameLocation: 'middle', nameGap: 28, axisLabel: { fontSize: 11 } },
      // Labels on a category axis; points on a hidden value axis whose
      // integers are the categories' centres (offsets separate series).
      yAxis: [
        { type: 'category', inverse: true, data: rows.map(function (r) { return short(r.label, 30); }), axisLabel: { fontSize: 11, interval: 0 }, axisTick: { show: false } },
        { type: 'value', inverse: true, min: -0.5, max: n - 0.5, show: false }
      ],
      series: series
    });
    el.setAttribute('data-rows', String(n));
    ready(el, chart);
    return chart;
  }

  // Targets held: P(RTO held) and P(MTD held) per service, and the city
  // goal first, each with its 95 % Wilson interval.
  function drawTargets(el, data) {
    var rows = [];
    var goalEl = document.getElementById('goal-data');
    if (goalEl) {
      try {
        var g = JSON.parse(goalEl.getAttribute('data-chart-data') || '{}').goal;
        if (g) { rows.push({ label: 'City goal', tip: 'City goal', values: [null, null, g] }); }
      } catch (e) { /* no goal row */ }
    }
    (data.services || []).forEach(function (s) {
      rows.push({ label: s.name, tip: s.name + ' (' + s.id + ')', values: [s.rto, s.mtd, null] });
    });
    forest(el, rows, [{ name: 'RTO held', color: COLORS.rto }, { name: 'MTD held', color: COLORS.mtd }, { name: 'City goal holds', color: COLORS.goal }],
      'probability', 0, 1, 3);
  }

  // Downtime exceedance: P(a trial's downtime > t) per service.
  function drawExceedance(el, data) {
    var series = (data.series || []).map(function (s, k) {
      return { name: short(s.name, 40), type: 'line', data: s.points, showSymbol: true, symbolSize: 6, smooth: false,
        lineStyle: { width: 2, color: CURVE_COLORS[k % CURVE_COLORS.length] }, itemStyle: { color: CURVE_COLORS[k % CURVE_COLORS.length] }, full: s.name };
    });
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 60, right: 30, top: 60, bottom: 50 },
      legend: { top: 4, type: 'scroll', textStyle: { fontSize: 12 } },
      tooltip: {
        confine: true, // no positioned arrow: its markup has an inline style
        trigger: 'item',
        formatter: function (p) {
          return esc(p.seriesName) + '<br>P(down more than ' + esc(fix(p.value[0], 1)) + ' h) ≤ <b>' + esc(fix(p.value[1], 3)) + '</b>';
        }
      },
      xAxis: { type: 'value', min: 0, name: 'hours down in a trial', nameLocation: 'middle', nameGap: 30, axisLabel: { fontSize: 11 } },
      yAxis: { type: 'value', min: 0, max: 1, name: 'P(downtime > t)', axisLabel: { fontSize: 11 } },
      series: series
    });
    el.setAttribute('data-series', String(series.length));
    ready(el, chart);
  }

  // Contributors: share of the expected loss that waited on each node.
  function drawTop(el, data) {
    var items = data.items || [];
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 200, right: 40, top: 10, bottom: 40 },
      tooltip: {
        confine: true, // no positioned arrow: its markup has an inline style
        trigger: 'item',
        formatter: function (p) {
          var d = items[p.dataIndex] || {};
          return esc(d.id) + '<br>' + esc(fix(100 * d.share, 1)) + ' % of the loss, ' + esc(num(d.loss)) + ' person-hours per trial';
        }
      },
      xAxis: { type: 'value', min: 0, axisLabel: { fontSize: 11, formatter: function (v) { return Math.round(100 * v) + ' %'; } } },
      yAxis: { type: 'category', inverse: true, data: items.map(function (d) { return short(d.id, 30); }), axisLabel: { fontSize: 11 } },
      series: [{ type: 'bar', data: items.map(function (d) { return d.share; }), itemStyle: { color: COLORS.bar }, barMaxWidth: 22 }]
    });
    el.setAttribute('data-rows', String(items.length));
    ready(el, chart);
  }

  // Investments: person-hours avoided per unit of cost, with intervals;
  // free options are listed without a point.
  function drawRanking(el, data) {
    var rows = (data.items || []).map(function (o) {
      return { label: (o.free ? '(free) ' : '') + o.name, tip: o.name + ' — cost ' + num(o.cost) + ', avoids ' + interval(o.avoided, 0) + ' person-hours', values: [o.per] };
    });
    forest(el, rows, [{ name: 'avoided person-hours per unit of cost', color: COLORS.rto }], 'person-hours avoided per unit of cost', null, null, 4);
  }

  var DRAW = { targets: drawTargets, exceedance: drawExceedance, top: drawTop, ranking: drawRanking };

  function initCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll('[data-sim-chart]').forEach(function (el) {
      if (el.getAttribute('data-ready')) { return; }
      var draw = DRAW[el.getAttribute('data-sim-chart')];
      var data;
      try {
        data = JSON.parse(el.getAttribute('data-chart-data') || '{}');
      } catch (e) {
        el.textContent = 'The chart data is malformed.';
        return;
      }
      if (draw) { draw(el, data); }
    });
  }

  // --- the timeline of one trial ------------------------------------------

  var STATES = {
    up: { color: '#b8c0cc', label: 'up' },
    hit: { color: '#d03b3b', label: 'hit, waiting for a crew' },
    restoring: { color: '#e8871e', label: 'being restored' },
    down: { color: '#7a1f3d', label: 'down (a dependency failed)' },
    recovered: { color: '#2a8a7e', label: 'back up' }
  };
  var SIZES = { service: 22, system: 15, asset: 9 };

  // layout places services on top, then systems, then assets, each kind
  // in rows wide enough for the view to stay roughly 5:2.
  function layout(nodes) {
    var rowsOf = { service: [], system: [], asset: [] };
    nodes.forEach(function (n) { (rowsOf[n.kind] || rowsOf.asset).push(n); });
    var pos = {}, y = 0;
    var perRow = Math.max(10, Math.ceil(Math.sqrt(nodes.length * 2.5)));
    ['service', 'system', 'asset'].forEach(function (k) {
      var list = rowsOf[k].slice().sort(function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; });
      for (var i = 0; i < list.length; i += perRow) {
        var row = list.slice(i, i + perRow);
        var odd = (i / perRow) % 2 ? 0.5 : 0;
        row.forEach(function (n, j) { pos[n.id] = [(j + 0.5 + odd) * 1000 / perRow + (perRow - row.length) * 500 / perRow, y]; });
        y += k === 'service' ? 60 : 40;
      }
      if (list.length) { y += 50; }
    });
    return pos;
  }

  // stateAt replays the steps up to t and returns each node's state and
  // the steps seen.
  function stateAt(trace, t) {
    var st = {};
    var seen = 0;
    (trace.events || []).forEach(function (e) {
      if (e.t_h > t) { return; }
      seen++;
      if (!e.node) { return; }
      var s = st[e.node] || (st[e.node] = { hits: 0, restoring: 0, failed: false, touched: false });
      s.touched = true;
      switch (e.kind) {
        case 'hit': s.hits++; break;
        case 'restore-start': s.restoring++; break;
        case 'restored': s.hits = Math.max(0, s.hits - 1); s.restoring = Math.max(0, s.restoring - 1); break;
        case 'down': s.failed = true; break;
        case 'up': s.failed = false; break;
      }
    });
    var out = {};
    Object.keys(st).forEach(function (id) {
      var s = st[id];
      if (s.hits > 0 && s.restoring > 0) { out[id] = 'restoring'; } else if (s.hits > 0) { out[id] = 'hit'; } else if (s.failed) { out[id] = 'down'; } else { out[id] = 'recovered'; }
    });
    return { states: out, seen: seen };
  }

  function stepText(trace, e) {
    var what = { 'event': 'event', 'hit': 'hit', 'restore-start': 'crew starts on', 'restored': 'restored', 'down': 'down', 'up': 'back up' }[e.kind] || e.kind;
    var s = fix(e.t_h, 2) + ' h  ' + what;
    if (e.kind === 'event' || e.kind === 'hit') {
      var name = (trace.event_names || [])[e.event];
      if (e.node) { s += ' ' + e.node; }
      if (name !== undefined) { s += e.kind === 'event' ? ' ' + name : ' by ' + name; }
    } else if (e.node) {
      s += ' ' + e.node;
      if (e.cause) { s += (e.kind === 'up' ? ' (after ' : ' (from ') + e.cause + ')'; }
    }
    return s;
  }

  function initTimeline(el) {
    if (!window.echarts || el.getAttribute('data-init')) { return; }
    el.setAttribute('data-init', '1');
    var url = el.getAttribute('data-trace-url');
    var trials = Number(el.getAttribute('data-trials')) || 1;
    var trialInput = document.getElementById('trial');
    var slider = document.getElementById('time-slider');
    var label = document.getElementById('time-label');
    var playBtn = document.getElementById('play');
    var status = document.getElementById('trace-status');
    var log = document.getElementById('trace-log');
    var summary = document.getElementById('trace-summary');
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    window.addEventListener('resize', function () { chart.resize(); });
    var trace = null, pos = {}, byId = {}, tEnd = 1, timer = null;

    function say(text) { status.textContent = text; }

    function render(t) {
      var r = stateAt(trace, t);
      var failed = 0;
      // Services are named while their labels fit; tooltips name the rest.
      var labels = (trace.nodes || []).filter(function (n) { return n.kind === 'service'; }).length <= 12;
      var data = (trace.nodes || []).map(function (n) {
        var s = r.states[n.id] || 'up';
        if (s === 'hit' || s === 'restoring' || s === 'down') { failed++; }
        return { id: n.id, name: n.name, x: pos[n.id][0], y: pos[n.id][1], symbolSize: SIZES[n.kind] || 11, state: s, node: n,
          itemStyle: { color: STATES[s].color, borderColor: n.kind === 'service' ? '#1f2a3a' : '#fff', borderWidth: n.kind === 'service' ? 2 : 1 },
          label: { show: n.kind === 'service' && labels, position: 'top', fontSize: 11, formatter: short(n.name, 24) } };
      });
      chart.setOption({ series: [{ data: data }] });
      label.textContent = fix(t, 1) + ' h';
      slider.value = String(Math.round(1000 * t / tEnd));
      el.setAttribute('data-time', fix(t, 3));
      el.setAttribute('data-failed', String(failed));
      el.setAttribute('data-steps-seen', String(r.seen));
      // The last steps up to t, newest last, as text.
      while (log.firstChild) { log.removeChild(log.firstChild); }
      var shown = (trace.events || []).filter(function (e) { return e.t_h <= t; }).slice(-14);
      shown.forEach(function (e) {
        var li = document.createElement('li');
        li.textContent = stepText(trace, e);
        li.className = 'step-' + e.kind;
        log.appendChild(li);
      });
    }

    function stop() {
      if (timer) { clearInterval(timer); timer = null; }
      playBtn.textContent = 'Play';
      el.setAttribute('data-playing', '0');
    }

    function play() {
      if (!trace) { return; }
      if (timer) { stop(); return; }
      var t = tEnd * Number(slider.value) / 1000;
      if (t >= tEnd) { t = 0; }
      playBtn.textContent = 'Pause';
      el.setAttribute('data-playing', '1');
      timer = setInterval(function () {
        t = Math.min(tEnd, t + tEnd / 150);
        render(t);
        if (t >= tEnd) { stop(); }
      }, 80);
    }

    function show(tr) {
      stop();
      trace = tr;
      byId = {};
      (tr.nodes || []).forEach(function (n) { byId[n.id] = n; });
      pos = layout(tr.nodes || []);
      var last = 0;
      (tr.events || []).forEach(function (e) { last = Math.max(last, e.t_h); });
      tEnd = Math.max(1, Math.min(tr.horizon_h || last, last + Math.max(1, last * 0.05)));
      var links = (tr.edges || []).map(function (e) {
        return { source: e.from, target: e.to, lineStyle: { type: e.soft ? 'dashed' : 'solid' } };
      });
      chart.setOption({
        animation: false,
        tooltip: {
          confine: true, // no positioned arrow: its markup has an inline style
          formatter: function (p) {
            if (p.dataType === 'edge') { return esc(p.data.source) + ' depends on ' + esc(p.data.target); }
            var n = p.data.node || {};
            return '<b>' + esc(n.name) + '</b><br>' + esc(n.id) + ' · ' + esc(n.kind) + ' · ' + esc(n.owner) +
              (n.population ? '<br>' + esc(num(n.population)) + ' people' : '') + '<br>' + esc(STATES[p.data.state].label);
          }
        },
        series: [{
          type: 'graph', layout: 'none', roam: true, data: [], links: links,
          edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 6,
          lineStyle: { color: '#9aa5b5', width: 1, opacity: 0.7, curveness: 0.08 },
          emphasis: { focus: 'adjacency' }
        }]
      }, true);
      el.setAttribute('data-trial', String(tr.trial));
      el.setAttribute('data-nodes', String((tr.nodes || []).length));
      el.setAttribute('data-steps', String((tr.events || []).length));
      var o = tr.outcome || {};
      var down = Object.keys(o.down_h || {});
      summary.textContent = 'Trial ' + tr.trial + ': ' + (tr.events || []).length + ' steps, ' + (tr.nodes || []).length + ' nodes; ' +
        num(o.loss_person_h) + ' person-hours lost; ' + down.length + ' service(s) down' + (o.goal ? '; the goal held.' : '; the goal did not hold.') +
        (tr.truncated ? ' (Only part of the trial is drawn: it touches too many nodes.)' : '') +
        (tr.city_changed ? ' The city has changed since the run: this replays the trial on the city as it is now.' : '');
      render(0);
      el.setAttribute('data-ready', '1');
    }

    function fetchTrial(n) {
      return fetch(url + '?trial=' + encodeURIComponent(n), { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (r) {
          return r.json().catch(function () { return { error: 'HTTP ' + r.status }; }).then(function (j) {
            if (!r.ok) { throw new Error(j.error || ('HTTP ' + r.status)); }
            return j;
          });
        });
    }

    function load(n) {
      n = Math.max(0, Math.min(trials - 1, Math.floor(Number(n) || 0)));
      trialInput.value = String(n);
      say('Loading trial ' + n + '…');
      return fetchTrial(n).then(function (tr) { say(''); show(tr); }).catch(function (err) { say('Could not load the trial: ' + err.message); });
    }

    // findIncident looks from trial `from` on for a trial in which
    // something was hit.
    function findIncident(from, left) {
      if (left === 0 || from >= trials) { say('No incident in the trials looked at; try another trial.'); return Promise.resolve(); }
      say('Looking for a trial with an incident: trial ' + from + '…');
      return fetchTrial(from).then(function (tr) {
        var hit = (tr.events || []).some(function (e) { return e.kind === 'hit'; });
        if (hit) { trialInput.value = String(from); say(''); show(tr); return null; }
        return findIncident(from + 1, left - 1);
      }).catch(function (err) { say('Could not load the trial: ' + err.message); });
    }

    document.getElementById('trace-load').addEventListener('click', function () { load(trialInput.value); });
    document.getElementById('trace-find').addEventListener('click', function () { findIncident(Number(trialInput.value) + 1, 50); });
    trialInput.addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); load(trialInput.value); } });
    playBtn.addEventListener('click', play);
    slider.addEventListener('input', function () { if (trace) { stop(); render(tEnd * Number(slider.value) / 1000); } });

    findIncident(0, 20);
  }

  // --- the runner's form: uploads fill the text areas -----------------------

  function initForm(root) {
    root.querySelectorAll('input[type="file"][data-fills]').forEach(function (input) {
      if (input.getAttribute('data-init')) { return; }
      input.setAttribute('data-init', '1');
      input.addEventListener('change', function () {
        var f = input.files && input.files[0];
        var area = document.getElementById(input.getAttribute('data-fills'));
        if (!f || !area) { return; }
        if (f.size > 512 * 1024) { area.value = ''; return; }
        var reader = new FileReader();
        reader.onload = function () { area.value = String(reader.result); };
        reader.readAsText(f);
      });
    });
  }

  function init(root) {
    initCharts(root);
    initForm(root);
    var tl = document.getElementById('timeline');
    if (tl) { initTimeline(tl); }
  }
  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:afterSettle', function () { init(document); });
})();
