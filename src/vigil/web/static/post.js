// One JSON POST to the case's API with the session's CSRF token (grading pages).
window.vigilPost = function (base, csrf, path, body) {
  "use strict";
  return fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
    credentials: "same-origin",
  }).then((r) => {
    if (!r.ok) throw new Error("server refused (" + r.status + ")");
    return r.json();
  });
};
