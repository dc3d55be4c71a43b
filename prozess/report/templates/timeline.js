/* prozess report: the timeline's frame, shared by the report of a small history (report.js: every op a bar)
   and of a large one (report-large.js: time buckets, or ops loaded from side files when zoomed in).
   The page's script draws the lanes' content; this draws fault windows, failed fault actions, cited ops,
   lane labels and the time axis, and handles zoom (wheel, buttons), pan (drag, page buttons) and reset. */
window.prozessTimeline = function (o) {
  "use strict";
  // o: canvas, wrap, tmax (µs), lanes, labels (per lane), meta (faults, failed), marks ([t µs, lane] per cited op),
  //    body(paths, w, barH) -> ops drawn (fills paths[0..4]: muted, ok, fail, info, nemesis), range(n) -> text after the span,
  //    empty (text when there is nothing to draw, or null)
  var canvas = o.canvas, wrap = o.wrap, ctx = canvas.getContext("2d");
  var LANES = Math.max(1, o.lanes), TMAX = Math.max(1, o.tmax), META = o.meta;
  var LABEL_W = 78, TOP = 18, AXIS = 22;
  var laneH = Math.max(3, Math.min(16, Math.floor(520 / LANES)));
  var view0 = 0, view1 = TMAX;
  // `s` cut to at most `room` pixels in the current font, ending in an ellipsis; "" when not even "x…" fits
  function fitText(s, room) {
    if (ctx.measureText(s).width <= room) return s;
    var n = s.length;
    while (n > 1 && ctx.measureText(s.slice(0, n) + "\u2026").width > room) n--;
    return n > 1 ? s.slice(0, n) + "\u2026" : "";
  }
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function secs(us) { return (us / 1e6).toFixed(3); }
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
    if (o.empty) {
      ctx.fillStyle = muted; ctx.font = "13px system-ui, sans-serif"; ctx.textBaseline = "middle";
      ctx.fillText(o.empty, 8, h / 2);
      canvas.setAttribute("data-drawn", "0");
      document.getElementById("tl-range").textContent = "";
      return 0;
    }
    ctx.save();
    ctx.beginPath(); ctx.rect(LABEL_W, 0, w - LABEL_W, h); ctx.clip();
    // the lanes' content, batched by colour
    var paths = [new Path2D(), new Path2D(), new Path2D(), new Path2D(), new Path2D()];
    var n = o.body(paths, w, Math.max(2, laneH - (laneH > 6 ? 3 : 1)));
    for (var k = 0; k < 5; k++) { ctx.fillStyle = colours[k]; ctx.fill(paths[k]); }
    // fault windows across all lanes, over the bars so dense lanes still show them
    // labels left to right, each after the one before; a label may run to the end of its own window or to
    // where the next window starts, whichever is further, and is cut with an ellipsis there (zoom in for the rest)
    var wins = META.faults.slice().sort(function (a, b) { return a.start - b.start; });
    var labelsDrawn = [], textEnd = -Infinity;
    ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "alphabetic";
    wins.forEach(function (fw, i) {
      var x0 = xOf(fw.start / 1000, w), x1 = xOf(fw.end / 1000, w);
      if (x1 < LABEL_W || x0 > w) return;
      ctx.globalAlpha = 0.28; ctx.fillStyle = fw.colour;
      ctx.fillRect(x0, TOP, Math.max(2, x1 - x0), LANES * laneH);
      ctx.globalAlpha = 1;
      ctx.fillRect(x0, 0, Math.max(2, x1 - x0), 4);
      var tx = Math.max(x0, LABEL_W, textEnd + 4) + 2;
      var until = i + 1 < wins.length ? Math.max(x1, xOf(wins[i + 1].start / 1000, w)) : w;
      var room = Math.min(until, w) - tx - 4;
      var text = fitText((fw.short || fw.kind) + (fw.healed ? "" : " (never healed)"), room);
      if (!text) return;
      ctx.fillStyle = fg; ctx.fillText(text, tx, 14);
      textEnd = tx + ctx.measureText(text).width;
      labelsDrawn.push([text, Math.round(tx), Math.round(textEnd)]);
    });
    canvas.setAttribute("data-window-labels", JSON.stringify(labelsDrawn));
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
    o.marks.forEach(function (m) {
      var t = m[0]; if (t < view0 || t > view1) return;
      var x = xOf(t, w), y = TOP + m[1] * laneH;
      ctx.beginPath(); ctx.moveTo(x - 5, y - 2); ctx.lineTo(x + 5, y - 2); ctx.lineTo(x, y + Math.max(6, laneH)); ctx.closePath(); ctx.fill();
    });
    ctx.restore();
    // lane labels
    ctx.fillStyle = css("--bg"); ctx.fillRect(0, 0, LABEL_W, h);
    ctx.fillStyle = muted; ctx.font = Math.min(11, laneH) + "px system-ui, sans-serif"; ctx.textBaseline = "middle";
    var step = Math.max(1, Math.ceil(11 / laneH));
    for (var lane = 0; lane < o.labels.length; lane += step) ctx.fillText(o.labels[lane], 4, TOP + lane * laneH + laneH / 2);
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
    document.getElementById("tl-range").textContent = secs(view0) + " – " + secs(view1) + " s of " + secs(TMAX) + " s · " + n + " ops in view" + (o.range ? o.range(n) : "");
    canvas.setAttribute("data-drawn", String(n));
    return n;
  }

  var pending = false;
  function requestDraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
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
  var $ = function (id) { return document.getElementById(id); };
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
  window.addEventListener("resize", requestDraw);
  if (window.matchMedia) {
    var mq = window.matchMedia("(prefers-color-scheme: dark)");
    if (mq.addEventListener) mq.addEventListener("change", requestDraw);
  }
  // where the pointer is: {lane, t (µs), slack (µs of 3 px)}, or null outside the lanes
  function at(ev) {
    var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    var lane = Math.floor((y - TOP) / laneH);
    if (lane < 0 || lane >= LANES || x < LABEL_W) return null;
    var w = wrap.clientWidth;
    return { lane: lane, t: view0 + (x - LABEL_W) / (w - LABEL_W) * (view1 - view0), slack: 3 / (w - LABEL_W) * (view1 - view0) };
  }
  // where time t on lane is on screen, in client pixels
  function point(t, lane) {
    var r = canvas.getBoundingClientRect();
    return { x: r.left + xOf(t, wrap.clientWidth), y: r.top + TOP + lane * laneH + laneH / 2 };
  }
  return {
    draw: draw, requestDraw: requestDraw, setView: setView, at: at, point: point,
    laneH: laneH, top: TOP, xOf: xOf, view: function () { return [view0, view1]; }, dragged: function () { return !!(drag && drag.moved); },
  };
};

/* Links to ops, shared by both reports: a click on a[data-op] or a #op-N hash shows that op's row
   (showOp(index)); returns the hash reader, which the page calls once its table is ready. */
window.prozessOpLinks = function (showOp) {
  "use strict";
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
  return fromHash;
};

/* Marks `row` (op `i`) as the one shown: the only highlighted row of `rows`, scrolled to, named in the hash. */
window.prozessHighlightRow = function (rows, row, i, noScroll) {
  "use strict";
  var prev = rows.querySelectorAll("tr.hl");
  for (var x = 0; x < prev.length; x++) prev[x].classList.remove("hl");
  row.classList.add("hl");
  if (!noScroll) row.scrollIntoView({ block: "center" });
  if (location.hash !== "#op-" + i) history.replaceState(null, "", "#op-" + i);
};
