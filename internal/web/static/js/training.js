// The training dashboard's charts: one line (completion) or bar (click
// rate) series per organization over the months, from the JSON in
// data-chart-data ({labels, series: [{name, values}]}, values in % or
// null; a line joins its measured months). Organization names reach the tooltip HTML only escaped.
(function () {
  'use strict';
  var ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(s) {
    return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }
  var PALETTE = ['#2f5fa7', '#2a8a7e', '#e8871e', '#8a5fb0', '#d03b3b', '#6b8e23', '#b8860b', '#4682b4'];

  function draw(el) {
    var data;
    try {
      data = JSON.parse(el.getAttribute('data-chart-data') || '{}');
    } catch (e) {
      el.textContent = 'The chart data is malformed.';
      return;
    }
    var type = el.getAttribute('data-training-chart') === 'bar' ? 'bar' : 'line';
    var series = (data.series || []).map(function (s, i) {
      return { name: String(s.name), type: type, data: s.values || [], connectNulls: type === 'line', showSymbol: true, symbolSize: 6,
        barMaxWidth: 18, itemStyle: { color: PALETTE[i % PALETTE.length] }, lineStyle: { width: 2 } };
    });
    el.setAttribute('data-series', String(series.length));
    if (!series.length) {
      el.classList.add('empty');
      el.textContent = 'Nothing measured in these months yet.';
      el.setAttribute('data-ready', '1');
      return;
    }
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 50, right: 24, top: 40, bottom: 50 },
      legend: { top: 4, type: 'scroll', textStyle: { fontSize: 12 } },
      tooltip: {
        trigger: 'axis',
        formatter: function (params) {
          var lines = [esc(params.length ? params[0].name : '')];
          params.forEach(function (p) {
            if (p.value !== null && p.value !== undefined) { lines.push(esc(p.seriesName) + ': <b>' + esc(p.value) + ' %</b>'); }
          });
          return lines.join('<br>');
        }
      },
      xAxis: { type: 'category', data: data.labels || [], axisLabel: { fontSize: 11, rotate: 25 } },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { fontSize: 11, formatter: '{value} %' } },
      series: series
    });
    el.setAttribute('data-ready', '1');
    window.addEventListener('resize', function () { chart.resize(); });
  }

  function init() {
    if (!window.echarts) { return; }
    document.querySelectorAll('[data-training-chart]').forEach(draw);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
