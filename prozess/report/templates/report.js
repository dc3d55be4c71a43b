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
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

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
    var prev = rows.querySelectorAll("tr.hl");
    for (var x = 0; x < prev.length; x++) prev[x].classList.remove("hl");
    row.classList.add("hl");
    if (!noScroll) row.scrollIntoView({ block: "center" });
    if (location.hash !== "#op-" + i) history.replaceState(null, "", "#op-" + i);
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

  // ---- timeline ----------------------------------------------------------------
  var canvas = $("timeline-canvas"), wrap = $("timeline-wrap"), tip = $("tooltip");
  var ctx = canvas.getContext("2d");
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

  var LABEL_W = 78, TOP = 18, AXIS = 22;
  var laneH = Math.max(3, Math.min(16, Math.floor(520 / LANES)));
  var view0 = 0, view1 = TMAX;
  var drawn = 0;

  function size() {
    var dpr = window.devicePixelRatio || 1, w = wrap.clientWidth || 800, h = TOP + LANES * laneH + AXIS;
    canvas.style.height = h + "px";
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { w: w, h: h };
  }
  function xOf(t, w) { return LABEL_W + (t - view0) / (view1 - view0) * (w - LABEL_W); }

  function draw() {
    var s = size(), w = s.w, h = s.h;
    var fg = css("--fg"), muted = css("--muted"), border = css("--border");
    var colours = [css("--muted"), css("--ok"), css("--fail"), css("--info"), css("--nemesis")];
    ctx.clearRect(0, 0, w, h);
    if (N === 0) {
      ctx.fillStyle = muted; ctx.font = "13px system-ui, sans-serif"; ctx.textBaseline = "middle";
      ctx.fillText("No ops were recorded.", 8, h / 2);
      canvas.setAttribute("data-drawn", "0");
      $("tl-range").textContent = "";
      return;
    }
    ctx.save();
    ctx.beginPath(); ctx.rect(LABEL_W, 0, w - LABEL_W, h); ctx.clip();
    // bars, batched by colour
    var paths = [new Path2D(), new Path2D(), new Path2D(), new Path2D(), new Path2D()];
    var barH = Math.max(2, laneH - (laneH > 6 ? 3 : 1));
    var lo = lowerBound(barStart, view0 - maxDur), n = 0;
    for (var b = lo; b < NB && barStart[b] <= view1; b++) {
      if (barEnd[b] < view0) continue;
      var x0 = xOf(barStart[b], w), x1 = xOf(barEnd[b], w);
      var y = TOP + laneOf[P[barOp[b]]] * laneH + (laneH - barH) / 2;
      paths[barKind[b]].rect(x0, y, Math.max(1, x1 - x0), barH);
      n++;
    }
    for (var k = 0; k < 5; k++) { ctx.fillStyle = colours[k]; ctx.fill(paths[k]); }
    // fault windows across all lanes, over the bars so dense lanes still show them
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
    // fault actions that failed: a cross on the nemesis lane (they never get a window)
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
    canvas.setAttribute("data-failed-drawn", String((META.failed || []).filter(function (a) { var t = a.time / 1000; return t >= view0 && t <= view1; }).length));
    // ops cited by anomalies
    ctx.fillStyle = css("--marker");
    META.markers.forEach(function (m) {
      var i = m[0]; if (i >= N) return;
      var t = T[i]; if (t < view0 || t > view1) return;
      var x = xOf(t, w), y = TOP + laneOf[P[i]] * laneH;
      ctx.beginPath(); ctx.moveTo(x - 5, y - 2); ctx.lineTo(x + 5, y - 2); ctx.lineTo(x, y + Math.max(6, laneH)); ctx.closePath(); ctx.fill();
    });
    ctx.restore();
    // lane labels
    ctx.fillStyle = css("--bg"); ctx.fillRect(0, 0, LABEL_W, h);
    ctx.fillStyle = muted; ctx.font = Math.min(11, laneH) + "px system-ui, sans-serif"; ctx.textBaseline = "middle";
    var step = Math.max(1, Math.ceil(11 / laneH));
    for (var lane = 0; lane < laneProcs.length; lane += step) {
      var procs = laneProcs[lane], label = String(D.procs[procs[0]]);
      if (label.length > 8) label = label.slice(0, 7) + "…";
      label = label === "nemesis" ? label : "p " + label + (procs.length > 1 ? " +" + (procs.length - 1) : "");
      ctx.fillText(label, 4, TOP + lane * laneH + laneH / 2);
    }
    ctx.strokeStyle = border; ctx.beginPath(); ctx.moveTo(LABEL_W - 0.5, 0); ctx.lineTo(LABEL_W - 0.5, h); ctx.stroke();
    // time axis
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
    $("tl-range").textContent = secs(view0) + " – " + secs(view1) + " s of " + secs(TMAX) + " s · " + n + " ops in view";
    drawn = n;
    canvas.setAttribute("data-drawn", String(n));
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

  function barAt(ev) {
    var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    var lane = Math.floor((y - TOP) / laneH);
    if (lane < 0 || lane >= LANES || x < LABEL_W) return -1;
    var w = wrap.clientWidth, t = view0 + (x - LABEL_W) / (w - LABEL_W) * (view1 - view0);
    var slack = 3 / (w - LABEL_W) * (view1 - view0), best = -1, bestD = Infinity;
    var list = laneBars[lane], lo = 0, hi = list.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (barStart[list[mid]] <= t + slack) lo = mid + 1; else hi = mid; }
    for (var q = lo - 1; q >= 0 && q >= lo - 64; q--) {
      var b = list[q], d = t < barStart[b] ? barStart[b] - t : t > barEnd[b] ? t - barEnd[b] : 0;
      if (d <= slack && d < bestD) { best = b; bestD = d; }
    }
    return best;
  }
  canvas.addEventListener("mousemove", function (ev) {
    if (drag && drag.moved) { tip.style.display = "none"; return; }
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
    if (drag && drag.moved) return;
    var b = barAt(ev);
    if (b >= 0) showOp(barOp[b]);
  });
  window.addEventListener("resize", requestDraw);
  if (window.matchMedia) {
    var mq = window.matchMedia("(prefers-color-scheme: dark)");
    if (mq.addEventListener) mq.addEventListener("change", requestDraw);
  }

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
    var r = canvas.getBoundingClientRect(), w = wrap.clientWidth;
    var t = (Math.max(barStart[b], view0) + Math.min(barEnd[b], view1)) / 2;
    return { x: r.left + xOf(t, w), y: r.top + TOP + laneOf[P[i]] * laneH + laneH / 2 };
  }
  TIMINGS.total = performance.now() - T0;
  window.prozessReport = { n: N, showOp: showOp, applyFilters: applyFilters, setView: setView, barPoint: barPoint, timings: TIMINGS,
                           drawn: function () { return drawn; } };
  document.body.setAttribute("data-ready", "1");
})();
