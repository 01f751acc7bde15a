// charts.js - the three charts, on uPlot (hq/www/vendor, MIT): orders by
// hour (bars, today beside yesterday), SLA percentiles per store (grouped
// bars with the store's target as a marker), and fleet lag (bars coloured
// by state).
//
// uPlot is a time-series library; categorical bars are its bar paths on an
// x scale of 0..n-1 with the axis labelling each index.  Grouped bars use
// bars({disp}) to place series j of k inside each slot.  A chart is made
// once per panel and then only fed with setData (and rebuilt when the
// number of categories or the language changes); a ResizeObserver keeps it
// the width of its panel.

const U = () => window.uPlot;

export const COLORS = {
  today: '#1d5bd6',
  yesterday: '#c5cfdc',
  p50: '#9cb8ee',
  p90: '#1d5bd6',
  p99: '#0f2a4a',
  target: '#b42318',
  ok: '#157a3b',
  lagging: '#c77700',
  stale: '#8a4600',
  offline: '#b42318',
  grid: '#e6eaf0',
  axis: '#566074',
};

const FONT = '12px "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", system-ui, sans-serif';

function axisX(labels) {
  return {
    stroke: COLORS.axis,
    font: FONT,
    grid: { show: false },
    ticks: { show: false },
    gap: 6,
    size: 28,
    splits: () => labels.map((_, i) => i),
    values: () => labels,
  };
}

function axisY(label, fmt) {
  return {
    stroke: COLORS.axis,
    font: FONT,
    labelFont: FONT,
    label,
    labelSize: 18,
    size: 44,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { show: false },
    values: (u, vals) => vals.map((v) => (fmt ? fmt(v) : tick(v))),
  };
}

// Axis numbers: integers plain, small fractions with one decimal.
function tick(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

// The x range for n categories: at least MIN_SLOTS wide, centred, so one
// store does not get bars a third of the panel wide.
const MIN_SLOTS = 5;
function slots(n) {
  const pad = Math.max(0, MIN_SLOTS - n) / 2;
  return [-0.5 - pad, n - 0.5 + pad];
}

// A bar series: no points, no line.
function barSeries(label, color, paths) {
  return { label, fill: color, stroke: color, width: 0, paths, points: { show: false } };
}

// Series j of k side by side inside each unit-wide slot centred on i.
function grouped(j, k, width = 0.8) {
  const slot = width / k;
  return U().paths.bars({
    size: [1, Infinity],
    disp: {
      x0: { unit: 1, values: (u) => u.data[0].map((x) => x - width / 2 + j * slot) },
      size: { unit: 1, values: (u) => u.data[0].map(() => slot * 0.92) },
    },
  });
}

class Chart {
  constructor(el, build) {
    this.el = el;
    this.build = build;
    this.u = null;
    this.key = '';
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(el);
  }

  size() {
    return { width: Math.max(200, this.el.clientWidth), height: Math.max(120, this.el.clientHeight) };
  }

  resize() {
    if (!this.u) return;
    const { width, height } = this.size();
    if (width !== this.u.width || height !== this.u.height) this.u.setSize({ width, height });
  }

  // key: what the options depend on (labels, language); data: uPlot data.
  set(key, data, opts) {
    if (this.u && key === this.key) {
      this.u.setData(data);
      return;
    }
    if (this.u) this.u.destroy();
    this.el.textContent = '';
    this.key = key;
    this.u = new (U())({ ...this.size(), ...opts }, data, this.el);
  }
}

const BASE = {
  legend: { show: false },
  cursor: { show: false },
  select: { show: false },
  padding: [12, 8, 0, 0],
};

// Orders per local hour: today (blue) beside yesterday (grey); the hours
// still to come are shaded.
export function hourlyChart(el) {
  const c = new Chart(el);
  let hour = 24;
  const shadeFuture = (u) => {
    const x0 = u.valToPos(hour + 0.5, 'x', true);
    const x1 = u.bbox.left + u.bbox.width;
    if (x0 >= x1) return;
    u.ctx.save();
    u.ctx.fillStyle = '#f4f6f9';
    u.ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
    u.ctx.restore();
  };
  return {
    chart: c,
    update(h, labels, lang) {
      hour = h.window.hour;
      const x = h.orders.map((_, i) => i);
      const max = Math.max(4, ...h.orders, ...h.orders_prev);
      c.set(`h:${lang}`, [x, h.orders_prev, h.orders], {
        ...BASE,
        scales: { x: { time: false, range: [-0.6, 23.6] }, y: { range: [0, Math.ceil(max * 1.15)] } },
        axes: [axisX(x.map((i) => (i % 3 === 0 ? `${i}:00` : ''))), axisY(labels.yAxis, (v) => (Number.isInteger(v) ? String(v) : ''))],
        series: [
          {},
          barSeries(labels.yesterday, COLORS.yesterday, grouped(0, 2, 0.84)),
          barSeries(labels.today, COLORS.today, grouped(1, 2, 0.84)),
        ],
        hooks: { drawClear: [shadeFuture] },
      });
    },
  };
}

// P50/P90/P99 of one metric per store (minutes), target as a red tick.
export function slaChart(el) {
  const c = new Chart(el);
  return {
    chart: c,
    update(stores, metric, labels, lang) {
      const x = stores.map((_, i) => i);
      const mins = (ms) => ms / 60000;
      const p = (k) => stores.map((s) => (s[metric].n ? mins(s[metric][k]) : null));
      const target = stores.map((s) => (s[metric].target ? mins(s[metric].target) : null));
      const all = [...p('p99'), ...target].filter((v) => v != null);
      const max = Math.max(1, ...all);
      c.set(`s:${lang}:${metric}:${stores.map((s) => s.store).join(',')}`, [x, p('p50'), p('p90'), p('p99'), target], {
        ...BASE,
        scales: { x: { time: false, range: slots(stores.length) }, y: { range: [0, max * 1.15] } },
        axes: [axisX(stores.map((s) => labels.store(s))), axisY(labels.yAxis)],
        series: [
          {},
          barSeries('P50', COLORS.p50, grouped(0, 3, 0.66)),
          barSeries('P90', COLORS.p90, grouped(1, 3, 0.66)),
          barSeries('P99', COLORS.p99, grouped(2, 3, 0.66)),
          {
            label: labels.target,
            stroke: COLORS.target,
            width: 0,
            paths: () => null,
            points: { show: true, size: 9, width: 2, stroke: COLORS.target, fill: '#ffffff' },
          },
        ],
      });
    },
  };
}

// Replication lag per store in seconds, each bar the colour of its state.
export function lagChart(el) {
  const c = new Chart(el);
  return {
    chart: c,
    update(stores, labels, lang) {
      const x = stores.map((_, i) => i);
      const lag = stores.map((s) => s.lag_ms / 1000);
      const colors = stores.map((s) => COLORS[s.state] || COLORS.ok);
      const max = Math.max(5, ...lag);
      c.set(`l:${lang}:${stores.map((s) => `${s.store}/${s.state}`).join(',')}`, [x, lag], {
        ...BASE,
        scales: { x: { time: false, range: slots(stores.length) }, y: { range: [0, max * 1.15] } },
        axes: [axisX(stores.map((s) => labels.store(s))), axisY(labels.yAxis)],
        series: [
          {},
          barSeries(labels.lag, COLORS.ok, U().paths.bars({
            size: [0.5, 56],
            disp: { fill: { unit: 3, values: () => colors } },
          })),
        ],
      });
    },
  };
}
