// Series stacks: choose a stack with the arrow keys, grade all its pictures with one key.
// The server forms the series again and grades its members; the page names only the id.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const keyToCode = new Map(data.keys.map((k) => [k.key, k.code]));
  const stacks = Array.from(document.querySelectorAll("#stacks li.stack"));
  const message = document.getElementById("message");
  const base = "/cases/" + encodeURIComponent(data.case);
  let index = 0;
  let acked = 0;

  function select(i) {
    if (!stacks.length) return;
    index = Math.max(0, Math.min(stacks.length - 1, i));
    stacks.forEach((li, n) => li.classList.toggle("current", n === index));
    stacks[index].scrollIntoView({ block: "nearest" });
  }

  function say(text, bad) {
    message.textContent = text;
    message.className = bad ? "error" : "";
  }

  function done() {
    acked += 1;
    document.body.dataset.acked = String(acked);
  }

  function post(path, body) {
    return window.vigilPost(base, csrf, path, body);
  }

  function gradeStack(code) {
    const li = stacks[index];
    if (!li) return;
    post("/series/" + li.dataset.series + "/grades", { grade: code }).then((answer) => {
      li.querySelector(".grades").textContent = code + ": " + answer.graded.length + " ";
      li.querySelector(".ungraded").textContent = "0";
      li.dataset.grade = code;
      say("graded " + answer.graded.length + " pictures of the series as " + code);
      done();
      select(index + 1);
    }, (err) => say(err.message, true));
  }

  function undoLast() {
    post("/undo", {}).then((answer) => {
      say("undone: " + Object.keys(answer.restored).length + " pictures");
      done();
      // Grades of every stack may have changed: show them as the server has them.
      location.reload();
    }, (err) => say(err.message, true));
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    let key = ev.key.toLowerCase();
    const m = /^(?:Key|Digit|Numpad)([A-Z0-9])$/.exec(ev.code);
    if (m) key = m[1].toLowerCase();
    if (keyToCode.has(key)) {
      ev.preventDefault();
      gradeStack(keyToCode.get(key));
    } else if (key === "arrowdown" || key === "j") {
      ev.preventDefault();
      select(index + 1);
    } else if (key === "arrowup" || key === "k") {
      ev.preventDefault();
      select(index - 1);
    } else if (key === "u") {
      undoLast();
    }
  });

  stacks.forEach((li, n) => li.addEventListener("click", () => select(n)));
  select(0);
})();
