// Keyboard grading on one page: no reloads, optimistic updates, one POST per grade.
// Tiles are blurred greyscale JPEGs rendered by the server; the unblurred picture is
// fetched only by an explicit reveal (r), which the server logs before answering.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("queue-data").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const items = data.items;
  const byId = new Map(items.map((it) => [it.id, it]));
  const keyToCode = new Map(data.keys.map((k) => [k.key, k.code]));
  const tile = document.getElementById("tile");
  const strip = document.getElementById("strip");
  const message = document.getElementById("message");
  const base = "/cases/" + encodeURIComponent(data.case);
  // ?start=<content id> opens the queue at that picture (links from the detail page).
  const start = Number(new URLSearchParams(location.search).get("start"));
  let index = start ? items.findIndex((it) => it.id === start) : -1;
  if (index < 0) index = items.findIndex((it) => it.grade === null);
  if (index < 0) index = 0;
  let blur = data.blur;
  let revealedUrl = null;
  const undo = [];
  // Per-keypress answer times (ms): keydown until the server confirmed the grade.
  window.vigilTimings = [];
  window.vigilAcked = 0;

  function tileUrl(id) {
    return base + "/tiles/" + id + ".jpg?blur=" + blur;
  }

  // Each tile is fetched once per page and shown from a blob: URL, so moving through the
  // queue costs one request for the one new strip tile instead of ten (responses are
  // no-store, so the browser would fetch every <img> again). Bounded; evicted URLs are
  // revoked.
  const blobs = new Map();
  const BLOBS_KEPT = 64;

  function showTile(img, url) {
    img.dataset.tileUrl = url;
    let p = blobs.get(url);
    if (!p) {
      p = fetch(url, { credentials: "same-origin" }).then((r) => {
        if (!r.ok) throw new Error("tile refused (" + r.status + ")");
        return r.blob();
      }).then((b) => URL.createObjectURL(b));
      p.catch(() => blobs.delete(url));
      blobs.set(url, p);
      while (blobs.size > BLOBS_KEPT) {
        const [old, op] = blobs.entries().next().value;
        blobs.delete(old);
        op.then((u) => URL.revokeObjectURL(u), () => {});
      }
    }
    p.then((u) => {
      if (img.dataset.tileUrl !== url) return;
      img.src = u;
      img.dataset.shown = url;
    }, () => {});
  }

  function hideReveal() {
    if (revealedUrl) {
      URL.revokeObjectURL(revealedUrl);
      revealedUrl = null;
    }
    tile.classList.remove("revealed");
  }

  function render() {
    hideReveal();
    const it = items[index];
    document.getElementById("position").textContent = items.length
      ? (index + 1) + " / " + items.length + " (" + items.filter((x) => x.grade === null).length + " left)"
      : "nothing to grade";
    if (!it) return;
    showTile(tile, tileUrl(it.id));
    tile.dataset.contentId = it.id;
    document.getElementById("state").textContent = "blurred, greyscale (blur " + blur + ")";
    document.getElementById("current-grade").textContent = it.grade === null ? "ungraded" : "grade " + it.grade;
    document.getElementById("group-info").textContent = it.group.length
      ? "near-duplicate group of " + it.group.length + " (Shift+key grades all)"
      : "";
    document.getElementById("detail-link").href = base + "/contents/" + it.id;
    strip.replaceChildren();
    for (let i = Math.max(0, index - 2); i < Math.min(items.length, index + 7); i++) {
      const li = document.createElement("li");
      const img = document.createElement("img");
      showTile(img, tileUrl(items[i].id));
      img.alt = "blurred tile";
      li.appendChild(img);
      li.dataset.contentId = items[i].id;
      if (i === index) li.className = "current";
      if (items[i].grade !== null) {
        const b = document.createElement("span");
        b.textContent = items[i].grade;
        li.appendChild(b);
      }
      strip.appendChild(li);
    }
  }

  function say(text, bad) {
    message.textContent = text;
    message.className = bad ? "error" : "";
  }

  function acked(started) {
    window.vigilTimings.push(performance.now() - started);
    window.vigilAcked += 1;
    document.body.dataset.acked = String(window.vigilAcked);
  }

  function post(path, body) {
    return window.vigilPost(base, csrf, path, body);
  }

  function send(ids, grade, started) {
    return post("/grades", { content_ids: ids, grade: grade }).then(() => acked(started));
  }

  function applyGrade(ids, grade, started) {
    const before = ids.map((id) => [id, byId.get(id).grade]);
    const step = { before: before, index: index };
    undo.push(step);
    ids.forEach((id) => { byId.get(id).grade = grade; });
    if (index < items.length - 1) index += 1;
    render();
    send(ids, grade, started).then(
      () => say("graded " + ids.length + " as " + grade),
      (err) => {
        before.forEach(([id, g]) => { byId.get(id).grade = g; });
        if (undo.includes(step)) undo.splice(undo.indexOf(step), 1);
        render();
        say(err.message, true);
      });
  }

  // Undo is the server's own action: it restores what this session's last grading
  // replaced and answers with the grades restored.
  function undoLast(started) {
    const last = undo.pop();
    if (!last) { say("nothing to undo"); return; }
    post("/undo", {}).then((answer) => {
      Object.entries(answer.restored).forEach(([id, g]) => {
        const it = byId.get(Number(id));
        if (it) it.grade = g;
      });
      index = last.index;
      render();
      acked(started);
      say("undone");
    }, (err) => say(err.message, true));
  }

  function reveal() {
    const it = items[index];
    if (!it) return;
    fetch(base + "/reveal/" + it.id, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    }).then((r) => {
      if (!r.ok) throw new Error("reveal refused (" + r.status + ")");
      return r.blob();
    }).then((blob) => {
      if (items[index] !== it) return;
      revealedUrl = URL.createObjectURL(blob);
      tile.dataset.tileUrl = "";
      tile.src = revealedUrl;
      tile.classList.add("revealed");
      document.getElementById("state").textContent = "REVEALED (logged) - Esc hides";
      say("revealed; recorded in the audit log");
    }, (err) => say(err.message, true));
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const started = performance.now();
    // ev.code keeps Shift+digit usable ("Digit1"), where ev.key would give "!".
    let key = ev.key.toLowerCase();
    const m = /^(?:Key|Digit|Numpad)([A-Z0-9])$/.exec(ev.code);
    if (m) key = m[1].toLowerCase();
    const it = items[index];
    if (keyToCode.has(key) && it) {
      ev.preventDefault();
      const ids = ev.shiftKey && it.group.length ? it.group.slice() : [it.id];
      applyGrade(ids, keyToCode.get(key), started);
    } else if (key === "arrowright" || key === "j") {
      if (index < items.length - 1) index += 1;
      render();
    } else if (key === "arrowleft" || key === "k") {
      if (index > 0) index -= 1;
      render();
    } else if (key === "u") {
      undoLast(started);
    } else if (key === "[" || key === "]") {
      blur = Math.max(data.blurRange[0], Math.min(data.blurRange[1], blur + (key === "]" ? 4 : -4)));
      render();
    } else if (key === "r") {
      reveal();
    } else if (key === "escape") {
      render();
    }
  });

  render();
})();
