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
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
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
      var prev = rows.querySelectorAll("tr.hl");
      for (var x = 0; x < prev.length; x++) prev[x].classList.remove("hl");
      row.classList.add("hl");
      if (!noScroll) row.scrollIntoView({ block: "center" });
      if (location.hash !== "#op-" + g) history.replaceState(null, "", "#op-" + g);
    });
    return true;
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a[data-op]") : null;
    if (!a) return;
    ev.preventDefault();
    showOp(parseInt(a.getAttribute("data-op"), 10));
  });
  function fromHash() {
    var m = /^#op-(\d+)$/.exec(location.hash);
    if (m) showOp(parseInt(m[1], 10));
  }
  window.addEventListener("hashchange", fromHash);

  // ---- timeline ----------------------------------------------------------------------
  var canvas = $("timeline-canvas"), wrap = $("timeline-wrap"), tip = $("tooltip");
  var ctx = canvas.getContext("2d");
  var LANES = Math.max(1, TL.lanes), NB = TL.buckets, W = TL.width, TMAX = Math.max(1, TL.tmax);
  var C = TL.counts;  // ((lane * NB) + bucket) * 3 + outcome (0 ok, 1 fail, 2 info)
  var DETAIL = 3 * CH;  // at most this many ops in view: draw them one by one
  var LABEL_W = 78, TOP = 18, AXIS = 22;
  var laneH = Math.max(3, Math.min(16, Math.floor(520 / LANES)));
  var view0 = 0, view1 = TMAX, drawn = 0, mode = "buckets", bars = [];
  function size() {
    var dpr = window.devicePixelRatio || 1, w = wrap.clientWidth || 800, h = TOP + LANES * laneH + AXIS;
    canvas.style.height = h + "px";
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { w: w, h: h };
  }
  function xOf(t, w) { return LABEL_W + (t - view0) / (view1 - view0) * (w - LABEL_W); }
  function bucketRange() { return [Math.max(0, Math.floor(view0 / W)), Math.min(NB - 1, Math.floor(view1 / W))]; }
  function opsInView() {
    var r = bucketRange(), n = 0;
    for (var l = 0; l < LANES; l++) for (var b = r[0]; b <= r[1]; b++) { var c = (l * NB + b) * 3; n += C[c] + C[c + 1] + C[c + 2]; }
    return n;
  }
  // side files whose ops cover the view (their bars included)
  function chunksInView() {
    var out = [];
    TL.chunks.forEach(function (c, k) { if (c[2] >= view0 && c[1] <= view1) out.push(k); });
    return out;
  }
  function detailWanted() {
    if (opsInView() > DETAIL) return null;
    var ks = chunksInView();
    return ks.length <= 3 ? ks : null;
  }

  function drawBuckets(paths, w) {
    var r = bucketRange(), barH = Math.max(2, laneH - (laneH > 6 ? 3 : 1)), n = 0;
    for (var l = 0; l < LANES; l++) {
      var top = TOP + l * laneH + (laneH - barH) / 2;
      for (var b = r[0]; b <= r[1]; b++) {
        var c = (l * NB + b) * 3, tot = C[c] + C[c + 1] + C[c + 2];
        if (!tot) continue;
        n += tot;
        var x0 = xOf(b * W, w), x1 = xOf((b + 1) * W, w), bw = Math.max(1, x1 - x0), y = top;
        for (var o = 0; o < 3; o++) {
          if (!C[c + o]) continue;
          var hh = Math.max(1, barH * C[c + o] / tot);
          paths[o + 1].rect(x0, y, bw, hh); y += hh;
        }
      }
    }
    return n;
  }
  function drawDetail(paths, w, ks) {
    var barH = Math.max(2, laneH - (laneH > 6 ? 3 : 1)), n = 0;
    bars = [];
    ks.forEach(function (k) {
      var d = chunks[k];
      for (var i = 0; i < d.n; i++) {
        if (d.ty[i] !== 0 || d.procs[d.p[i]] === "nemesis") continue;
        var t0 = d.T[i], t1 = d.pr[i] ? t0 + d.pe[i] : TMAX;
        if (t1 < view0 || t0 > view1) continue;
        var lane = d.pl[d.p[i]], kind = d.pr[i] ? d.pt[i] : 3;
        var x0 = xOf(t0, w), x1 = xOf(t1, w), y = TOP + lane * laneH + (laneH - barH) / 2;
        paths[kind].rect(x0, y, Math.max(1, x1 - x0), barH);
        bars.push([lane, t0, t1, d.base + i, k, i]);
        n++;
      }
    });
    return n;
  }

  function draw() {
    var s = size(), w = s.w, h = s.h;
    var fg = css("--fg"), muted = css("--muted"), border = css("--border");
    var colours = [css("--muted"), css("--ok"), css("--fail"), css("--info"), css("--nemesis")];
    ctx.clearRect(0, 0, w, h);
    ctx.save();
    ctx.beginPath(); ctx.rect(LABEL_W, 0, w - LABEL_W, h); ctx.clip();
    var paths = [new Path2D(), new Path2D(), new Path2D(), new Path2D(), new Path2D()];
    var ks = detailWanted(), n;
    if (ks && ks.every(function (k) { return chunks[k]; })) {
      mode = "detail";
      ks.forEach(touch);
      n = drawDetail(paths, w, ks);
    } else {
      mode = "buckets"; bars = [];
      n = drawBuckets(paths, w);
      if (ks) ks.forEach(function (k) { load(k, function () { requestDraw(); }); });
    }
    // nemesis actions, one bar each, on lane 0
    var barH = Math.max(2, laneH - (laneH > 6 ? 3 : 1));
    TL.nemesis.forEach(function (a) {
      if (a[2] < view0 || a[1] > view1) return;
      var x0 = xOf(a[1], w), x1 = xOf(a[2], w);
      paths[4].rect(x0, TOP + (laneH - barH) / 2, Math.max(2, x1 - x0), barH);
    });
    for (var k = 0; k < 5; k++) { ctx.fillStyle = colours[k]; ctx.fill(paths[k]); }
    META.faults.forEach(function (fw) {
      var x0 = xOf(fw.start / 1000, w), x1 = xOf(fw.end / 1000, w);
      if (x1 < LABEL_W || x0 > w) return;
      ctx.globalAlpha = 0.28; ctx.fillStyle = fw.colour;
      ctx.fillRect(x0, TOP, Math.max(2, x1 - x0), LANES * laneH);
      ctx.globalAlpha = 1;
      ctx.fillRect(x0, 0, Math.max(2, x1 - x0), 4);
      ctx.fillStyle = fg; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "alphabetic";
      ctx.fillText((fw.short || fw.kind) + (fw.healed ? "" : " (never healed)"), Math.max(x0, LABEL_W) + 2, 14);
    });
    var failColour = css("--fail");
    (META.failed || []).forEach(function (a) {
      var t = a.time / 1000; if (t < view0 || t > view1) return;
      var x = xOf(t, w), y = TOP + laneH / 2, r = Math.max(4, Math.min(7, laneH / 2 + 1));
      ctx.strokeStyle = failColour; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); ctx.stroke();
      ctx.lineWidth = 1;
      ctx.fillStyle = failColour; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "alphabetic";
      ctx.fillText(a.f + " failed", x + r + 2, 14);
    });
    ctx.fillStyle = css("--marker");
    TL.marks.forEach(function (m) {
      var t = m[1]; if (t < view0 || t > view1) return;
      var x = xOf(t, w), y = TOP + m[2] * laneH;
      ctx.beginPath(); ctx.moveTo(x - 5, y - 2); ctx.lineTo(x + 5, y - 2); ctx.lineTo(x, y + Math.max(6, laneH)); ctx.closePath(); ctx.fill();
    });
    ctx.restore();
    ctx.fillStyle = css("--bg"); ctx.fillRect(0, 0, LABEL_W, h);
    ctx.fillStyle = muted; ctx.font = Math.min(11, laneH) + "px system-ui, sans-serif"; ctx.textBaseline = "middle";
    var step = Math.max(1, Math.ceil(11 / laneH));
    for (var lane = 0; lane < L.labels.length; lane += step) ctx.fillText(L.labels[lane], 4, TOP + lane * laneH + laneH / 2);
    ctx.strokeStyle = border; ctx.beginPath(); ctx.moveTo(LABEL_W - 0.5, 0); ctx.lineTo(LABEL_W - 0.5, h); ctx.stroke();
    var y0 = TOP + LANES * laneH;
    ctx.beginPath(); ctx.moveTo(LABEL_W, y0 + 0.5); ctx.lineTo(w, y0 + 0.5); ctx.stroke();
    var span = (view1 - view0) / 1e6, tick = Math.pow(10, Math.floor(Math.log10(span / 6)));
    if (span / tick > 12) tick *= 5; else if (span / tick > 6) tick *= 2;
    ctx.fillStyle = fg; ctx.textBaseline = "top"; ctx.font = "11px system-ui, sans-serif";
    for (var ts = Math.ceil(view0 / 1e6 / tick) * tick; ts <= view1 / 1e6; ts += tick) {
      var x = xOf(ts * 1e6, w);
      ctx.fillRect(x, y0, 1, 4);
      ctx.fillText((tick < 1 ? ts.toFixed(Math.min(6, -Math.floor(Math.log10(tick)))) : ts.toFixed(0)) + " s", x + 2, y0 + 6);
    }
    $("tl-range").textContent = secs(view0) + " – " + secs(view1) + " s of " + secs(TMAX) + " s · " + n + " ops in view" +
      (mode === "detail" ? " (each drawn)" : " (in " + secs(W) + " s buckets; zoom in for single ops)");
    drawn = n;
    canvas.setAttribute("data-drawn", String(n));
    canvas.setAttribute("data-mode", mode);
  }

  function setView(a, b2) {
    var span = Math.max(50, Math.min(TMAX * 1.02 + 1, b2 - a));
    if (a < -0.01 * TMAX) a = -0.01 * TMAX;
    if (a + span > TMAX * 1.01 + 1) a = TMAX * 1.01 + 1 - span;
    view0 = a; view1 = a + span; requestDraw();
  }
  function zoom(factor, atX) {
    var w = wrap.clientWidth, frac = atX === undefined ? 0.5 : Math.max(0, Math.min(1, (atX - LABEL_W) / (w - LABEL_W)));
    var t = view0 + frac * (view1 - view0), span = (view1 - view0) * factor;
    setView(t - frac * span, t - frac * span + span);
  }
  var pending = false;
  function requestDraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
  $("tl-in").addEventListener("click", function () { zoom(0.5); });
  $("tl-out").addEventListener("click", function () { zoom(2); });
  $("tl-reset").addEventListener("click", function () { setView(0, TMAX); });
  $("tl-prev").addEventListener("click", function () { var s = view1 - view0; setView(view0 - s, view1 - s); });
  $("tl-next").addEventListener("click", function () { var s = view1 - view0; setView(view0 + s, view1 + s); });
  canvas.addEventListener("wheel", function (ev) {
    if (!ev.ctrlKey && !ev.shiftKey && Math.abs(ev.deltaY) < Math.abs(ev.deltaX)) return;
    ev.preventDefault();
    var r = canvas.getBoundingClientRect();
    zoom(ev.deltaY > 0 ? 1.25 : 0.8, ev.clientX - r.left);
  }, { passive: false });
  canvas.addEventListener("dblclick", function () { setView(0, TMAX); });
  var drag = null;
  canvas.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, v0: view0, v1: view1, moved: false }; });
  window.addEventListener("mouseup", function () { if (drag) canvas.classList.remove("dragging"); setTimeout(function () { drag = null; }, 0); });
  window.addEventListener("mousemove", function (ev) {
    if (!drag || !(ev.buttons & 1)) return;
    var dx = ev.clientX - drag.x;
    if (Math.abs(dx) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
    var dt = dx / (wrap.clientWidth - LABEL_W) * (drag.v1 - drag.v0);
    setView(drag.v0 - dt, drag.v1 - dt);
  });
  // what is under the pointer: {bar} in detail mode, {lane, bucket} otherwise; null for nothing
  function hit(ev) {
    var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    var lane = Math.floor((y - TOP) / laneH);
    if (lane < 0 || lane >= LANES || x < LABEL_W) return null;
    var w = wrap.clientWidth, t = view0 + (x - LABEL_W) / (w - LABEL_W) * (view1 - view0);
    if (mode === "detail") {
      var slack = 3 / (w - LABEL_W) * (view1 - view0), best = null, bestD = Infinity;
      bars.forEach(function (b) {
        if (b[0] !== lane) return;
        var d = t < b[1] ? b[1] - t : t > b[2] ? t - b[2] : 0;
        if (d <= slack && d < bestD) { best = b; bestD = d; }
      });
      return best ? { bar: best } : null;
    }
    var bk = Math.floor(t / W);
    if (bk < 0 || bk >= NB) return null;
    var c = (lane * NB + bk) * 3;
    return C[c] + C[c + 1] + C[c + 2] ? { lane: lane, bucket: bk } : null;
  }
  canvas.addEventListener("mousemove", function (ev) {
    if (drag && drag.moved) { tip.style.display = "none"; return; }
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
    if (drag && drag.moved) return;
    var h = hit(ev);
    if (!h) return;
    if (h.bar) showOp(h.bar[3]);
    else setView((h.bucket - 1) * W, (h.bucket + 2) * W);
  });
  window.addEventListener("resize", requestDraw);
  if (window.matchMedia) {
    var mq = window.matchMedia("(prefers-color-scheme: dark)");
    if (mq.addEventListener) mq.addEventListener("change", requestDraw);
  }

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
