'use strict';
// The guide's business metrics on Node's prom-client, measured on the same purchase
// workload as the Rust benches (benches/common/workload.rs): 5 funnel steps, 1
// conversion, 1 time-to-conversion observation, 1 revenue increment, 1 order-value
// observation per event, label values from fixed pools chosen by a counter.
//
// Run with (after `npm ci` in this folder; scripts/bench.sh does both):
//   node bench.js time   # ns per event (small pools), render ms at ~10k series
//   node bench.js rss    # peak RSS after populating ~10k series, then one render
// Each prints one JSON object; with BENCH_RESULTS_DIR set it is also written there.

const fs = require('fs');
const path = require('path');
const { Registry, Counter, Histogram } = require('prom-client');

// ---- The guide's instruments and service (names, labels and buckets as in the guide) ----

function createService() {
  const registry = new Registry();
  const funnelStep = new Counter({
    name: 'business_funnel_step_total',
    help: 'Counts progression through conversion funnel steps',
    labelNames: ['step', 'source', 'device_type', 'experiment_variant'],
    registers: [registry],
  });
  const conversions = new Counter({
    name: 'business_conversions_total',
    help: 'Total number of completed conversions',
    labelNames: ['conversion_type', 'source', 'device_type'],
    registers: [registry],
  });
  const timeToConversion = new Histogram({
    name: 'business_time_to_conversion_seconds',
    help: 'Time elapsed from session start to conversion',
    labelNames: ['conversion_type'],
    buckets: [30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const revenue = new Counter({
    name: 'business_revenue_cents_total',
    help: 'Total revenue in cents to avoid floating point issues',
    labelNames: ['product_category', 'payment_method', 'region'],
    registers: [registry],
  });
  const orderValue = new Histogram({
    name: 'business_order_value_cents',
    help: 'Distribution of order values in cents',
    labelNames: ['product_category'],
    buckets: [500, 1000, 2500, 5000, 10000, 25000, 50000],
    registers: [registry],
  });

  const service = {
    recordFunnelStep(step, meta) {
      funnelStep.inc({
        step,
        source: meta.source,
        device_type: meta.deviceType,
        experiment_variant: meta.experimentVariant || 'control',
      });
    },
    recordConversion(type, meta) {
      conversions.inc({ conversion_type: type, source: meta.source, device_type: meta.deviceType });
      const seconds = (Date.now() - meta.sessionStartTime.getTime()) / 1000;
      timeToConversion.observe({ conversion_type: type }, seconds);
    },
    recordRevenue(amountCents, meta) {
      revenue.inc(
        {
          product_category: meta.productCategory,
          payment_method: meta.paymentMethod,
          region: meta.region,
        },
        amountCents,
      );
      orderValue.observe({ product_category: meta.productCategory }, amountCents);
    },
  };
  return { registry, service };
}

// ---- The workload (same pools and arithmetic as the Rust side) ----

const STEPS = ['cart_view', 'shipping_info', 'payment_info', 'order_review', 'order_confirmed'];

function pool(named, prefix, n) {
  const out = named.slice(0, n);
  for (let k = out.length; k < n; k++) out.push(`${prefix}_${String(k).padStart(3, '0')}`);
  return out;
}

function pools(large) {
  const sources = ['google_ads', 'newsletter', 'direct', 'social'];
  const devices = ['mobile', 'desktop', 'tablet'];
  const variants = ['control', 'one_page'];
  const categories = ['electronics', 'books', 'clothing', 'home', 'toys'];
  const payments = ['card', 'paypal', 'bank_transfer'];
  const regions = ['us_east', 'us_west', 'eu_central', 'ap_south'];
  if (!large) return { sources, devices, variants, categories, payments, regions };
  return {
    sources: pool(sources, 'source', 80),
    devices,
    variants: pool(variants, 'variant', 4),
    categories: pool(categories, 'category', 10),
    payments: pool(payments, 'payment', 5),
    regions: pool(regions, 'region', 100),
  };
}

function sizes(p) {
  return {
    contexts: p.sources.length * p.devices.length * p.variants.length,
    sales: p.categories.length * p.payments.length * p.regions.length,
  };
}

function expectedSeries(p) {
  const { contexts, sales } = sizes(p);
  return STEPS.length * contexts + p.sources.length * p.devices.length + 1 + sales + p.categories.length;
}

function event(p, i, now) {
  const { contexts, sales } = sizes(p);
  const s = p.sources.length;
  const d = p.devices.length;
  const c = p.categories.length;
  const pm = p.payments.length;
  const f = i % contexts;
  const r = i % sales;
  const ttcMs = (10 + ((i * 37) % 3990)) * 1000 + (i % 4) * 250;
  const funnel = {
    source: p.sources[f % s],
    deviceType: p.devices[Math.floor(f / s) % d],
    experimentVariant: p.variants[Math.floor(f / (s * d))],
    sessionStartTime: new Date(now - ttcMs),
  };
  const sale = {
    productCategory: p.categories[r % c],
    paymentMethod: p.payments[Math.floor(r / c) % pm],
    region: p.regions[Math.floor(r / (c * pm))],
  };
  return { funnel, sale, amountCents: 500 + ((i * 7919) % 60000) };
}

function gcd(a, b) {
  return b === 0 ? a : gcd(b, a % b);
}

function recordPurchase(service, ev) {
  for (const step of STEPS) service.recordFunnelStep(step, ev.funnel);
  service.recordConversion('purchase', ev.funnel);
  service.recordRevenue(ev.amountCents, ev.sale);
}

function populate(service, p) {
  const { contexts, sales } = sizes(p);
  const now = Date.now();
  for (let i = 0; i < Math.max(contexts, sales); i++) recordPurchase(service, event(p, i, now));
}

// Series of the business families in a text exposition (a histogram counts once).
function countSeries(text) {
  const types = new Map();
  let series = 0;
  let samples = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, kind] = line.slice(7).split(' ');
      types.set(name, kind);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    samples++;
    const name = line.split(/[{ ]/)[0];
    if (!name.startsWith('business_')) continue;
    const kind = types.get(name);
    if (kind === 'counter' || kind === 'gauge') series++;
    else if (name.endsWith('_count') && types.get(name.slice(0, -6)) === 'histogram') series++;
  }
  return { series, samples, bytes: Buffer.byteLength(text) };
}

function statusKib(field) {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`${field} not in /proc/self/status`);
  return parseInt(line.slice(field.length + 1), 10);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function emit(name, value) {
  const text = JSON.stringify(value);
  console.log(text);
  const dir = process.env.BENCH_RESULTS_DIR;
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}.json`), text);
  }
}

function check(p, counted) {
  const expected = expectedSeries(p);
  if (counted.series !== expected) {
    throw new Error(`expected ${expected} business series, found ${counted.series}`);
  }
}

// ---- Modes ----

async function time() {
  const measureMs = Number(process.env.BENCH_MEASUREMENT_SECS || 3) * 1000;

  // One thread, small pools: a precomputed cycle of events, as on the Rust side.
  const small = pools(false);
  const { contexts, sales } = sizes(small);
  const cycleLen = (contexts / gcd(contexts, sales)) * sales;
  const now = Date.now();
  const events = Array.from({ length: cycleLen }, (_, i) => event(small, i, now));
  const { service, registry } = createService();
  const round = 100000;
  let k = 0;
  const runRound = () => {
    const start = process.hrtime.bigint();
    for (let n = 0; n < round; n++) {
      recordPurchase(service, events[k]);
      k = k + 1 === cycleLen ? 0 : k + 1;
    }
    return Number(process.hrtime.bigint() - start) / round;
  };
  const warmUntil = Date.now() + 1000;
  while (Date.now() < warmUntil) runRound();
  const perEvent = [];
  const measureUntil = Date.now() + measureMs;
  while (Date.now() < measureUntil || perEvent.length < 10) perEvent.push(runRound());
  check(small, countSeries(await registry.metrics()));

  // Render at ~10k series.
  const large = pools(true);
  const big = createService();
  populate(big.service, large);
  const counted = countSeries(await big.registry.metrics());
  check(large, counted);
  const renders = [];
  const renderUntil = Date.now() + measureMs;
  while (Date.now() < renderUntil || renders.length < 10) {
    const start = process.hrtime.bigint();
    await big.registry.metrics();
    renders.push(Number(process.hrtime.bigint() - start) / 1e6);
  }

  emit('node_time', {
    peer: 'prom_client',
    node: process.version,
    prom_client: require('prom-client/package.json').version,
    ns_per_event_median: median(perEvent),
    rounds: perEvent.length,
    events_per_round: round,
    render_ms_median: median(renders),
    renders: renders.length,
    large_series: counted,
  });
}

async function rss() {
  const large = pools(true);
  const baseline = statusKib('VmRSS');
  const { service, registry } = createService();
  populate(service, large);
  const populated = statusKib('VmHWM');
  const counted = countSeries(await registry.metrics());
  const rendered = statusKib('VmHWM');
  check(large, counted);
  emit('rss_prom_client', {
    peer: 'prom_client',
    series: counted.series,
    baseline_rss_kib: baseline,
    hwm_populated_kib: populated,
    hwm_scraped_kib: rendered,
  });
}

const modes = { time, rss };
const mode = process.argv[2];
if (!modes[mode]) {
  console.error('usage: node bench.js <time|rss>');
  process.exit(2);
}
modes[mode]().catch((err) => {
  console.error(err);
  process.exit(1);
});
