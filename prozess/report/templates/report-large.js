/* prozess report of a large history: the table paged from side files, the timeline downsampled.
   The page embeds per-(lane, time bucket) counts; the ops themselves live in history-pages/NNNN.js,
   each a script calling window.prozessChunk(n, columns) (see prozess/report/large.py). Side files
   are loaded with <script src> tags, which work from disk, where fetch() of file:// does not. */
(function () {
  "use strict";
  var T0 = performance.now(), TIMINGS = {};
  var L = JSON.parse(document.getElementById("large-data").textContent);
  var META = JSON.parse(document.getElementById("report-meta").textContent);
  TIMINGS.parse = performance.now() - T0;
  var N = L.n, CH = L.chunk, TL = L.timeline, TYPES = ["invoke", "ok", "fail", "info"];
  var PAGE = 100, KEEP = 6;  // rows per table page; side files kept in memory
  var $ = function (id) { return document.getElementById(id); };
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function secs(us) { return (us / 1e6).toFixed(3); }
  var CITED = {};
  META.markers.forEach(function (m) { CITED[m[0]] = 1; });
  var FAILED_AT = {};
  (META.failed || []).forEach(function (a) { FAILED_AT[a.op] = a.reason; });

  // ---- side files ---------------------------------------------------------------
  var chunks = {}, waiting = {}, used = [], loads = 0;
  function fileOf(k) { return L.dir + "/" + ("000" + k).slice(-Math.max(4, String(k).length)) + ".js"; }
  window.prozessChunk = function (k, d) {
    var n = d.n, T = new Float64Array(n), acc = 0;
    for (var i = 0; i < n; i++) { acc += d.dt[i]; T[i] = acc; }
    d.T = T;
    chunks[k] = d;
  };
  function touch(k) {
    var at = used.indexOf(k);
    if (at >= 0) used.splice(at, 1);
    used.push(k);
    while (used.length > KEEP) {
      var old = used.shift();
      delete chunks[old];
      var el = document.querySelector('script[data-chunk="' + old + '"]');
      if (el) el.remove();
    }
  }
  // calls cb(chunk) once side file k is loaded (at once when it is), cb(null) when it cannot be
  function load(k, cb) {
    if (chunks[k]) { touch(k); cb(chunks[k]); return; }
    if (waiting[k]) { waiting[k].push(cb); return; }
    waiting[k] = [cb];
    var s = document.createElement("script");
    s.src = fileOf(k);
    s.setAttribute("data-chunk", String(k));
    s.onload = s.onerror = function () {
      var cbs = waiting[k]; delete waiting[k];
      loads++;
      if (chunks[k]) touch(k); else showMissing(k);
      cbs.forEach(function (f) { f(chunks[k] || null); });
    };
    document.head.appendChild(s);
  }
  function showMissing(k) {
    var box = $("pg-where");
    if (box) box.innerHTML = '<span class="t-fail">side file ' + esc(fileOf(k)) + " could not be loaded; rebuild with prozess report</span>";
  }

  // ---- history table -------------------------------------------------------------
  var rows = $("history-rows"), page = 0, PAGES = Math.max(1, Math.ceil(N / PAGE));
  function lab(d, i) { return d.ix ? d.ix[i] : d.base + i; }
  function keysOf(d, i) {
    var k = d.k[i];
    if (k === -1) return [];
    if (typeof k === "number") return [d.keys[k]];
    return k.map(function (x) { return d.keys[x]; });
  }
  function partnerOf(d, i) { return d.pr[i] ? d.base + i + d.pr[i] : -1; }
  function partnerLabel(d, i) {
    var g = partnerOf(d, i), j = g - d.base;
    return j >= 0 && j < d.n ? lab(d, j) : g;
  }
  function valueText(d, i) {
    var v = d.v[i], j = partnerOf(d, i) - d.base;
    return v === 0 ? (j >= 0 && j < d.n ? d.v[j] : "(as in its completion)") : v;
  }
  function rowHtml(d, i) {
    var g = d.base + i, t = TYPES[d.ty[i]], partner = partnerOf(d, i);
    var node = d.nd && d.nd[i] >= 0 ? d.nodes[d.nd[i]] : "";
    var err = d.e && d.e[i] >= 0 ? d.errs[d.e[i]] : "";
    var v = d.v[i];
    var val = v === 0 ? '<span class="muted">as in its completion #' + esc(partnerLabel(d, i)) + "</span>" : esc(v);
    return '<tr id="op-' + g + '" data-i="' + g + '"' + (CITED[g] ? ' class="cited"' : "") + ">" +
      '<td><a href="#op-' + g + '" data-op="' + g + '">' + lab(d, i) + "</a></td>" +
      "<td>" + secs(d.T[i]) + "</td><td>" + esc(d.procs[d.p[i]]) + '</td><td class="t-' + t + '">' + t + "</td>" +
      "<td>" + esc(d.fs[d.f[i]]) + "</td><td>" + esc(keysOf(d, i).join(" ")) + '</td><td class="val">' + val + "</td>" +
      "<td>" + esc(node) + '</td><td class="t-fail">' + esc(err) + "</td>" +
      "<td>" + (partner >= 0 ? '<a href="#op-' + partner + '" data-op="' + partner + '">' + (partner > g ? "→" : "←") + esc(partnerLabel(d, i)) + "</a>" : "") + "</td></tr>";
  }
  // renders table page `page`, loading its side file first; then calls done()
  function render(done) {
    if (page >= PAGES) page = PAGES - 1;
    if (page < 0) page = 0;
    var want = page, first = page * PAGE, k = Math.floor(first / CH);
    $("pg-num").value = page + 1;
    $("pg-num").max = PAGES;
    $("pg-total").textContent = PAGES;
    load(k, function (d) {
      if (want !== page) return;  // a later page was asked for meanwhile
      if (!d) { rows.innerHTML = '<tr><td colspan="10">The side file ' + esc(fileOf(k)) + " could not be loaded.</td></tr>"; if (done) done(); return; }
      var html = [], last = Math.min(N, first + PAGE);
      for (var g = first; g < last; g++) html.push(rowHtml(d, g - d.base));
      rows.innerHTML = html.join("");
      $("pg-where").textContent = "ops " + first + "–" + (last - 1) + " of " + N + " · page " + (page + 1) + " of " + PAGES + " · side file " + fileOf(k);
      if (done) done();
    });
  }
  $("pg-first").addEventListener("click", function () { page = 0; render(); });
  $("pg-prev").addEventListener("click", function () { page--; render(); });
  $("pg-next").addEventListener("click", function () { page++; render(); });
  $("pg-last").addEventListener("click", function () { page = PAGES - 1; render(); });
  $("pg-num").addEventListener("change", function () { page = (parseInt(this.value, 10) || 1) - 1; render(); });
  $("pg-op").addEventListener("change", function () { var i = parseInt(this.value, 10); if (i >= 0 && i < N) showOp(i); });

  // Shows op g in the table: its page (its side file loaded), highlighted and scrolled into view.
  function showOp(g, noScroll) {
    if (!(g >= 0 && g < N)) return false;
    page = Math.floor(g / PAGE);
    render(function () {
      var row = $("op-" + g);
      if (!row) return;
      window.prozessHighlightRow(rows, row, g, noScroll);
    });
    return true;
  }
  var fromHash = window.prozessOpLinks(showOp);

  // ---- timeline ----------------------------------------------------------------------
  var canvas = $("timeline-canvas"), tip = $("tooltip");
  var LANES = Math.max(1, TL.lanes), NB = TL.buckets, W = TL.width, TMAX = Math.max(1, TL.tmax);
  var C = TL.counts;  // ((lane * NB) + bucket) * 3 + outcome (0 ok, 1 fail, 2 info)
  var DETAIL = 3 * CH;  // at most this many ops in view: draw them one by one
  var drawn = 0, mode = "buckets", bars = [];
  function bucketRange(v) { return [Math.max(0, Math.floor(v[0] / W)), Math.min(NB - 1, Math.floor(v[1] / W))]; }
  function opsInView(v) {
    var r = bucketRange(v), n = 0;
    for (var l = 0; l < LANES; l++) for (var b = r[0]; b <= r[1]; b++) { var c = (l * NB + b) * 3; n += C[c] + C[c + 1] + C[c + 2]; }
    return n;
  }
  // the side files to draw the view op by op (their ops' bars cover it), or null when the view holds too many ops
  function detailWanted(v) {
    if (opsInView(v) > DETAIL) return null;
    var ks = [];
    TL.chunks.forEach(function (c, k) { if (c[2] >= v[0] && c[1] <= v[1]) ks.push(k); });
    return ks.length <= 3 ? ks : null;
  }
  function drawBuckets(paths, w, barH, v) {
    var r = bucketRange(v), n = 0;
    for (var l = 0; l < LANES; l++) {
      var top = view.top + l * view.laneH + (view.laneH - barH) / 2;
      for (var b = r[0]; b <= r[1]; b++) {
        var c = (l * NB + b) * 3, tot = C[c] + C[c + 1] + C[c + 2];
        if (!tot) continue;
        n += tot;
        var x0 = view.xOf(b * W, w), bw = Math.max(1, view.xOf((b + 1) * W, w) - x0), y = top;
        for (var o = 0; o < 3; o++) {  // stacked by outcome share
          if (!C[c + o]) continue;
          var hh = Math.max(1, barH * C[c + o] / tot);
          paths[o + 1].rect(x0, y, bw, hh); y += hh;
        }
      }
    }
    return n;
  }
  function drawDetail(paths, w, barH, v, ks) {
    var n = 0;
    bars = [];
    ks.forEach(function (k) {
      var d = chunks[k];
      for (var i = 0; i < d.n; i++) {
        if (d.ty[i] !== 0 || d.procs[d.p[i]] === "nemesis") continue;
        var t0 = d.T[i], t1 = d.pr[i] ? t0 + d.pe[i] : TMAX;
        if (t1 < v[0] || t0 > v[1]) continue;
        var lane = d.pl[d.p[i]], kind = d.pr[i] ? d.pt[i] : 3;
        var x0 = view.xOf(t0, w), y = view.top + lane * view.laneH + (view.laneH - barH) / 2;
        paths[kind].rect(x0, y, Math.max(1, view.xOf(t1, w) - x0), barH);
        bars.push([lane, t0, t1, d.base + i, k, i]);
        n++;
      }
    });
    return n;
  }
  var view = window.prozessTimeline({
    canvas: canvas, wrap: $("timeline-wrap"), tmax: TMAX, lanes: LANES, labels: L.labels, meta: META,
    marks: TL.marks.map(function (m) { return [m[1], m[2]]; }),
    body: function (paths, w, barH) {
      var v = view.view(), ks = detailWanted(v), n;
      if (ks && ks.every(function (k) { return chunks[k]; })) {
        mode = "detail";
        ks.forEach(touch);
        n = drawDetail(paths, w, barH, v, ks);
      } else {
        mode = "buckets"; bars = [];
        n = drawBuckets(paths, w, barH, v);
        if (ks) ks.forEach(function (k) { load(k, function () { view.requestDraw(); }); });
      }
      TL.nemesis.forEach(function (a) {  // nemesis actions, one bar each, on lane 0
        if (a[2] < v[0] || a[1] > v[1]) return;
        var x0 = view.xOf(a[1], w);
        paths[4].rect(x0, view.top + (view.laneH - barH) / 2, Math.max(2, view.xOf(a[2], w) - x0), barH);
      });
      drawn = n;
      canvas.setAttribute("data-mode", mode);
      return n;
    },
    range: function () { return mode === "detail" ? " (each drawn)" : " (in " + secs(W) + " s buckets; zoom in for single ops)"; },
  });
  var draw = view.draw, setView = view.setView;
  // what is under the pointer: {bar} in detail mode, {lane, bucket} otherwise; null for nothing
  function hit(ev) {
    var a = view.at(ev);
    if (!a) return null;
    if (mode === "detail") {
      var best = null, bestD = Infinity;
      bars.forEach(function (b) {
        if (b[0] !== a.lane) return;
        var d = a.t < b[1] ? b[1] - a.t : a.t > b[2] ? a.t - b[2] : 0;
        if (d <= a.slack && d < bestD) { best = b; bestD = d; }
      });
      return best ? { bar: best } : null;
    }
    var bk = Math.floor(a.t / W);
    if (bk < 0 || bk >= NB) return null;
    var c = (a.lane * NB + bk) * 3;
    return C[c] + C[c + 1] + C[c + 2] ? { lane: a.lane, bucket: bk } : null;
  }
  canvas.addEventListener("mousemove", function (ev) {
    if (view.dragged()) { tip.style.display = "none"; return; }
    var h = hit(ev);
    if (!h) { tip.style.display = "none"; return; }
    if (h.bar) {
      var d = chunks[h.bar[4]], i = h.bar[5], t = d.pr[i] ? TYPES[d.pt[i]] : "no completion";
      tip.innerHTML = "<strong>#" + lab(d, i) + "</strong> process " + esc(d.procs[d.p[i]]) + " · " + esc(d.fs[d.f[i]]) +
        ' · <span class="t-' + esc(t) + '">' + esc(t) + "</span><br>" + secs(h.bar[1]) + " – " + secs(h.bar[2]) +
        ' s<br><span class="mono">' + esc(String(valueText(d, d.pr[i] ? i + d.pr[i] : i)).slice(0, 300)) + "</span>";
    } else {
      var c = (h.lane * NB + h.bucket) * 3;
      tip.innerHTML = "<strong>" + esc(L.labels[h.lane]) + "</strong> " + secs(h.bucket * W) + " – " + secs((h.bucket + 1) * W) + " s<br>" +
        (C[c] + C[c + 1] + C[c + 2]) + ' ops invoked: <span class="t-ok">' + C[c] + ' ok</span>, <span class="t-fail">' + C[c + 1] +
        ' fail</span>, <span class="t-info">' + C[c + 2] + " info</span><br>click to zoom in";
    }
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  canvas.addEventListener("click", function (ev) {
    if (view.dragged()) return;
    var h = hit(ev);
    if (!h) return;
    if (h.bar) showOp(h.bar[3]);
    else setView((h.bucket - 1) * W, (h.bucket + 2) * W);
  });

  var T1 = performance.now();
  draw();
  TIMINGS.timeline = performance.now() - T1;
  T1 = performance.now();
  var start = /^#op-(\d+)$/.exec(location.hash);
  if (start) page = Math.floor(parseInt(start[1], 10) / PAGE);
  render(function () {
    TIMINGS.table = performance.now() - T1;
    TIMINGS.total = performance.now() - T0;
    fromHash();
    window.prozessReport = {
      n: N, large: true, showOp: showOp, setView: setView, timings: TIMINGS,
      drawn: function () { return drawn; }, mode: function () { return mode; },
      page: function () { return page; }, loaded: function () { return Object.keys(chunks).map(Number); },
      loads: function () { return loads; },
    };
    document.body.setAttribute("data-ready", "1");
  });
})();
