/* prozess report: history table (paged, filtered) and timeline (canvas, zoomable).
   The history arrives as columns (see prozess/report/encode.py); nothing is fetched. */
(function () {
  "use strict";
  var T0 = performance.now(), TIMINGS = {};
  var D = JSON.parse(document.getElementById("history-data").textContent);
  TIMINGS.parse = performance.now() - T0;
  var META = JSON.parse(document.getElementById("report-meta").textContent);
  var N = D.n, TYPES = ["invoke", "ok", "fail", "info"];
  var PAGE = 100;

  // ---- decode columns -------------------------------------------------------
  var T = new Float64Array(N);            // µs since start
  var acc = 0;
  for (var i = 0; i < N; i++) { acc += D.dt[i]; T[i] = acc; }
  var TY = Int8Array.from(D.ty), P = Int32Array.from(D.p), F = Int32Array.from(D.f);
  var ND = D.nd || null, E = D.e || null;
  var IX = D.ix || null;  // op indices when they have gaps; rows and anchors go by position
  function lab(i) { return IX ? IX[i] : i; }
  var NEM = D.procs.indexOf("nemesis");
  var TMAX = 0; for (i = 0; i < N; i++) if (T[i] > TMAX) TMAX = T[i];
  if (TMAX <= 0) TMAX = 1;

  // pair invocations with completions, as prozess.history does
  var PARTNER = new Int32Array(N).fill(-1);
  var open = new Int32Array(D.procs.length).fill(-1);
  for (i = 0; i < N; i++) {
    var p = P[i], j = open[p];
    if (p === NEM) {
      if (j >= 0 && TY[i] !== 0 && F[j] === F[i]) { PARTNER[j] = i; PARTNER[i] = j; open[p] = -1; }
      else open[p] = i;
    } else if (TY[i] === 0) open[p] = i;
    else if (j >= 0) { PARTNER[j] = i; PARTNER[i] = j; open[p] = -1; }
  }
  var CITED = new Uint8Array(N);
  META.markers.forEach(function (m) { if (m[0] < N) CITED[m[0]] = 1; });
  var FAILED_AT = {};  // opening op index of a fault action that did not take effect -> its reason
  (META.failed || []).forEach(function (a) { FAILED_AT[a.op] = a.reason; });

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function secs(us) { return (us / 1e6).toFixed(3); }
  function keysOf(i) {
    var k = D.k[i];
    if (k === -1) return [];
    if (typeof k === "number") return [D.keys[k]];
    return k.map(function (x) { return D.keys[x]; });
  }

  // ---- history table ---------------------------------------------------------
  var $ = function (id) { return document.getElementById(id); };
  var rows = $("history-rows");
  var filtered = null;  // Int32Array of matching op indices, or null for all
  var page = 0;
  var fsel = $("flt-f");
  D.fs.forEach(function (f) { var o = document.createElement("option"); o.textContent = f; fsel.appendChild(o); });

  function count() { return filtered ? filtered.length : N; }
  function opAt(pos) { return filtered ? filtered[pos] : pos; }

  // an invocation that completed ok has its value in the completion (see encode.py)
  function valueCell(i) {
    var v = D.v[i];
    if (v === 0) return '<span class="muted">as in its completion #' + lab(PARTNER[i]) + "</span>";
    return esc(v);
  }
  function valueText(i) { var v = D.v[i]; return v === 0 ? D.v[PARTNER[i]] : v; }

  function rowHtml(i) {
    var t = TYPES[TY[i]], partner = PARTNER[i];
    var ks = keysOf(i).join(" ");
    var node = ND && ND[i] >= 0 ? D.nodes[ND[i]] : "";
    var err = E && E[i] >= 0 ? D.errs[E[i]] : "";
    return '<tr id="op-' + i + '" data-i="' + i + '"' + (CITED[i] ? ' class="cited"' : "") + '>' +
      '<td><a href="#op-' + i + '" data-op="' + i + '">' + lab(i) + "</a></td>" +
      "<td>" + secs(T[i]) + "</td><td>" + esc(D.procs[P[i]]) + '</td><td class="t-' + t + '">' + t + "</td>" +
      "<td>" + esc(D.fs[F[i]]) + "</td><td>" + esc(ks) + '</td><td class="val">' + valueCell(i) + "</td>" +
      "<td>" + esc(node) + '</td><td class="t-fail">' + esc(err) + "</td>" +
      "<td>" + (partner >= 0 ? '<a href="#op-' + partner + '" data-op="' + partner + '">' + (partner > i ? "→" : "←") + lab(partner) + "</a>" : "") + "</td></tr>";
  }

  function render() {
    var n = count(), pages = Math.max(1, Math.ceil(n / PAGE));
    if (page >= pages) page = pages - 1;
    if (page < 0) page = 0;
    var html = [];
    for (var pos = page * PAGE; pos < Math.min(n, (page + 1) * PAGE); pos++) html.push(rowHtml(opAt(pos)));
    rows.innerHTML = html.length ? html.join("") : '<tr><td colspan="10">No op matches these filters.</td></tr>';
    $("pg-num").value = page + 1;
    $("pg-num").max = pages;
    $("pg-total").textContent = pages;
    $("match-count").textContent = filtered ? n + " of " + N + " ops match" : N + " ops";
  }

  function applyFilters() {
    var procText = $("flt-process").value.trim(), fv = fsel.value, tv = $("flt-type").value;
    var keyText = $("flt-key").value.trim(), text = $("flt-text").value.trim().toLowerCase();
    if (!procText && !fv && !tv && !keyText && !text) { filtered = null; page = 0; render(); return; }
    var procOk = null, fCode = fv ? D.fs.indexOf(fv) : -1, tCode = tv ? TYPES.indexOf(tv) : -1, keyOk = null;
    if (procText) {
      var wanted = procText.split(/[\s,]+/).filter(Boolean);
      procOk = new Uint8Array(D.procs.length);
      D.procs.forEach(function (p, c) { if (wanted.indexOf(String(p)) >= 0) procOk[c] = 1; });
    }
    if (keyText) {
      keyOk = new Uint8Array(D.keys.length);
      var exact = D.keys.indexOf(keyText);
      if (exact >= 0) keyOk[exact] = 1;
      else D.keys.forEach(function (k, c) { if (String(k).indexOf(keyText) >= 0) keyOk[c] = 1; });
    }
    var errLower = null;
    if (text && E) errLower = D.errs.map(function (s) { return String(s).toLowerCase(); });
    var out = new Int32Array(N), n = 0;
    for (var i = 0; i < N; i++) {
      if (procOk && !procOk[P[i]]) continue;
      if (fCode >= 0 && F[i] !== fCode) continue;
      if (fv && fCode < 0) continue;
      if (tCode >= 0 && TY[i] !== tCode) continue;
      if (keyOk) {
        var k = D.k[i], hit = false;
        if (typeof k === "number") hit = k >= 0 && keyOk[k] === 1;
        else for (var x = 0; x < k.length; x++) if (keyOk[k[x]]) { hit = true; break; }
        if (!hit) continue;
      }
      if (text) {
        var v = D.v[i];
        if (v === 0) continue;
        if (v.toLowerCase().indexOf(text) < 0 && !(errLower && E[i] >= 0 && errLower[E[i]].indexOf(text) >= 0)) continue;
      }
      out[n++] = i;
    }
    filtered = out.subarray(0, n);
    page = 0;
    render();
  }

  var timer = null;
  function debounced() { clearTimeout(timer); timer = setTimeout(applyFilters, 200); }
  ["flt-process", "flt-key", "flt-text"].forEach(function (id) { $(id).addEventListener("input", debounced); });
  fsel.addEventListener("change", applyFilters);
  $("flt-type").addEventListener("change", applyFilters);
  function clearFilters() {
    ["flt-process", "flt-key", "flt-text"].forEach(function (id) { $(id).value = ""; });
    fsel.value = ""; $("flt-type").value = ""; filtered = null;
  }
  $("flt-clear").addEventListener("click", function () { clearFilters(); page = 0; render(); });
  $("pg-first").addEventListener("click", function () { page = 0; render(); });
  $("pg-prev").addEventListener("click", function () { page--; render(); });
  $("pg-next").addEventListener("click", function () { page++; render(); });
  $("pg-last").addEventListener("click", function () { page = Infinity; render(); });
  $("pg-num").addEventListener("change", function () { page = (parseInt(this.value, 10) || 1) - 1; render(); });
  $("pg-op").addEventListener("change", function () { var i = parseInt(this.value, 10); if (i >= 0 && i < N) showOp(i); });

  function lowerBound(arr, x) {
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < x) lo = mid + 1; else hi = mid; }
    return lo;
  }

  // Shows op i in the table: its page, highlighted and scrolled into view.
  function showOp(i, noScroll) {
    if (!(i >= 0 && i < N)) return false;
    var pos = i;
    if (filtered) {
      pos = lowerBound(filtered, i);
      if (filtered[pos] !== i) { clearFilters(); pos = i; }
    }
    page = Math.floor(pos / PAGE);
    render();
    var row = $("op-" + i);
    if (!row) return false;
    window.prozessHighlightRow(rows, row, i, noScroll);
    return true;
  }

  var fromHash = window.prozessOpLinks(showOp);

  // ---- timeline ----------------------------------------------------------------
  var canvas = $("timeline-canvas"), wrap = $("timeline-wrap"), tip = $("tooltip");
  // lanes: nemesis first; then processes packed into as few lanes as overlap allows.
  // A crashed client's process is replaced by a new id (Jepsen semantics), so one
  // lane is one worker over time, as Jepsen's timeline shows threads.
  var NP = D.procs.length, first = new Float64Array(NP).fill(Infinity), last = new Float64Array(NP).fill(-Infinity);
  for (i = 0; i < N; i++) { var pp = P[i]; if (T[i] < first[pp]) first[pp] = T[i]; if (T[i] > last[pp]) last[pp] = T[i]; }
  var byStart = [];
  for (var c0 = 0; c0 < NP; c0++) if (c0 !== NEM) byStart.push(c0);
  byStart.sort(function (a, b) {
    if (first[a] !== first[b]) return first[a] - first[b];
    var pa = D.procs[a], pb = D.procs[b];
    return (typeof pa === "number" && typeof pb === "number") ? pa - pb : String(pa) < String(pb) ? -1 : 1;
  });
  var laneOf = new Int32Array(NP), laneEnd = [], laneProcs = [];
  var base = NEM >= 0 ? 1 : 0;
  if (NEM >= 0) { laneOf[NEM] = 0; laneProcs.push([NEM]); }
  byStart.forEach(function (c) {
    var lane = -1;
    for (var q = 0; q < laneEnd.length; q++) if (laneEnd[q] < first[c]) { lane = q; break; }
    if (lane < 0) { lane = laneEnd.length; laneEnd.push(0); laneProcs.push([]); }
    laneEnd[lane] = last[c];
    laneOf[c] = lane + base;
    laneProcs[lane + base].push(c);
  });
  var LANES = Math.max(1, laneProcs.length);
  // bars: one per invocation (or nemesis action), sorted by start
  var barStart = [], barEnd = [], barOp = [], barKind = [];
  for (i = 0; i < N; i++) {
    var isNem = P[i] === NEM;
    if (isNem ? (PARTNER[i] >= 0 && PARTNER[i] < i) : TY[i] !== 0) continue;
    var c2 = PARTNER[i];
    barStart.push(T[i]); barEnd.push(c2 >= 0 ? T[c2] : TMAX); barOp.push(i);
    barKind.push(isNem ? 4 : (c2 >= 0 ? TY[c2] : 3));
  }
  var NB = barOp.length;
  var laneBars = []; for (var l = 0; l < LANES; l++) laneBars.push([]);
  for (var b = 0; b < NB; b++) laneBars[laneOf[P[barOp[b]]]].push(b);
  var maxDur = 0; for (b = 0; b < NB; b++) maxDur = Math.max(maxDur, barEnd[b] - barStart[b]);
  var labels = laneProcs.map(function (procs) {
    var label = String(D.procs[procs[0]]);
    if (label.length > 8) label = label.slice(0, 7) + "…";
    return label === "nemesis" ? label : "p " + label + (procs.length > 1 ? " +" + (procs.length - 1) : "");
  });
  var marks = [];
  META.markers.forEach(function (m) { var i = m[0]; if (i < N) marks.push([T[i], laneOf[P[i]]]); });
  var drawn = 0;
  var TL = window.prozessTimeline({
    canvas: canvas, wrap: wrap, tmax: TMAX, lanes: LANES, labels: labels, meta: META, marks: marks,
    empty: N === 0 ? "No ops were recorded." : null,
    body: function (paths, w, barH) {
      var v = TL.view(), lo = lowerBound(barStart, v[0] - maxDur), n = 0;
      for (var b = lo; b < NB && barStart[b] <= v[1]; b++) {
        if (barEnd[b] < v[0]) continue;
        var x0 = TL.xOf(barStart[b], w), x1 = TL.xOf(barEnd[b], w);
        var y = TL.top + laneOf[P[barOp[b]]] * TL.laneH + (TL.laneH - barH) / 2;
        paths[barKind[b]].rect(x0, y, Math.max(1, x1 - x0), barH);
        n++;
      }
      drawn = n;
      return n;
    },
  });
  var draw = TL.draw, setView = TL.setView;

  function barAt(ev) {
    var a = TL.at(ev);
    if (!a) return -1;
    var t = a.t, slack = a.slack, best = -1, bestD = Infinity;
    var list = laneBars[a.lane], lo = 0, hi = list.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (barStart[list[mid]] <= t + slack) lo = mid + 1; else hi = mid; }
    for (var q = lo - 1; q >= 0 && q >= lo - 64; q--) {
      var b = list[q], d = t < barStart[b] ? barStart[b] - t : t > barEnd[b] ? t - barEnd[b] : 0;
      if (d <= slack && d < bestD) { best = b; bestD = d; }
    }
    return best;
  }
  canvas.addEventListener("mousemove", function (ev) {
    if (TL.dragged()) { tip.style.display = "none"; return; }
    var b = barAt(ev);
    if (b < 0) { tip.style.display = "none"; return; }
    var i = barOp[b], c = PARTNER[i], t = c >= 0 ? TYPES[TY[c]] : "no completion";
    tip.innerHTML = "<strong>#" + lab(i) + "</strong> process " + esc(D.procs[P[i]]) + " · " + esc(D.fs[F[i]]) + ' · <span class="t-' + esc(t) + '">' + esc(t) + "</span><br>" +
      secs(barStart[b]) + " – " + secs(barEnd[b]) + " s<br><span class=\"mono\">" + esc(String(c >= 0 ? valueText(c) : valueText(i)).slice(0, 300)) + "</span>" +
      (FAILED_AT[i] ? '<br><span class="t-fail">fault not applied: ' + esc(FAILED_AT[i]) + "</span>" : "");
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  canvas.addEventListener("click", function (ev) {
    if (TL.dragged()) return;
    var b = barAt(ev);
    if (b >= 0) showOp(barOp[b]);
  });

  TIMINGS.decode = performance.now() - T0 - TIMINGS.parse;
  var T1 = performance.now();
  render();
  TIMINGS.table = performance.now() - T1;
  T1 = performance.now();
  draw();
  TIMINGS.timeline = performance.now() - T1;
  fromHash();
  // where op i's bar is on screen (for tests and tools): {x, y} in client pixels, or null
  function barPoint(i) {
    var b = barOp.indexOf(i);
    if (b < 0) return null;
    var v = TL.view();
    return TL.point((Math.max(barStart[b], v[0]) + Math.min(barEnd[b], v[1])) / 2, laneOf[P[i]]);
  }
  TIMINGS.total = performance.now() - T0;
  window.prozessReport = { n: N, showOp: showOp, applyFilters: applyFilters, setView: setView, barPoint: barPoint, timings: TIMINGS,
                           drawn: function () { return drawn; } };
  document.body.setAttribute("data-ready", "1");
})();
